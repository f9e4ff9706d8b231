import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { JOB_STATUSES, type Target } from '../providers/types';
import { parseAllowlist } from './allowlist';
import { type PlanJob, plan, RUNNING, TERMINAL, targetKey, windowState } from './planner';
import { DAYS, type Day, type Policy, type Window } from './policies';

const COS: Target = EXAMPLE_TARGETS.cos;
const OSS: Target = EXAMPLE_TARGETS.oss;

const win = (timezone: string, start: string, end: string, days: Day[] = [...DAYS]): Window => {
  const m = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
  return { timezone, days, start: m(start), end: m(end), startText: start, endText: end };
};

const pol = (over: Partial<Policy> = {}): Policy => ({
  name: 'nightly',
  mode: 'enforce',
  enabled: true,
  target: COS,
  match: { descriptionPrefix: 'nightly-' },
  confirm: 'window',
  ...over,
});

let seq = 0;
const job = (over: Partial<PlanJob> = {}): PlanJob => ({
  jobId: `job-${String(++seq).padStart(4, '0')}`,
  status: 'Suspended',
  priority: 10,
  description: 'nightly-x',
  creationTime: '2026-12-06T00:00:00Z',
  ...over,
});

const byTarget = (jobs: PlanJob[], t: Target = COS) => new Map([[targetKey(t), jobs]]);
const T = (iso: string) => Date.parse(iso);

describe('windowState', () => {
  const shanghai = win('Asia/Shanghai', '01:00', '06:00', ['MON', 'TUE', 'WED', 'THU', 'FRI']);
  it.each([
    // 2026-12-07 is a Monday
    ['open on a weekday', shanghai, '2026-12-07T01:00:00+08:00', true, '2026-12-07T06:00:00+08:00'],
    ['closed at its end', shanghai, '2026-12-07T06:00:00+08:00', false, '2026-12-08T01:00:00+08:00'],
    ['closed just before start', shanghai, '2026-12-07T00:59:59+08:00', false, '2026-12-07T01:00:00+08:00'],
    [
      'weekday-only: Saturday closed until Monday',
      shanghai,
      '2026-12-05T02:00:00+08:00',
      false,
      '2026-12-07T01:00:00+08:00',
    ],
    [
      'weekday-only: Friday night opens',
      shanghai,
      '2026-12-11T05:59:00+08:00',
      true,
      '2026-12-11T06:00:00+08:00',
    ],
  ] as const)('%s', (_n, w, now, open, next) => {
    expect(windowState(w, T(now))).toEqual({ open, next: T(next) });
  });

  const wrap = win('Asia/Shanghai', '22:00', '02:00', ['FRI']);
  it.each([
    [
      'wraps: open after midnight on the day after it opened',
      '2026-12-12T01:30:00+08:00',
      true,
      '2026-12-12T02:00:00+08:00',
    ],
    [
      'wraps: the window belongs to Friday, so Saturday 22:00 is closed',
      '2026-12-12T22:30:00+08:00',
      false,
      '2026-12-18T22:00:00+08:00',
    ],
    ['wraps: Friday 23:00 open', '2026-12-11T23:00:00+08:00', true, '2026-12-12T02:00:00+08:00'],
  ] as const)('%s', (_n, now, open, next) => {
    expect(windowState(wrap, T(now))).toEqual({ open, next: T(next) });
  });

  it('America/New_York: spring forward keeps 01:00–06:00 local (5 h of real time shrink to 4)', () => {
    const ny = win('America/New_York', '01:00', '06:00');
    // 2026-03-08: clocks go 02:00 EST → 03:00 EDT
    expect(windowState(ny, T('2026-03-08T01:30:00-05:00'))).toEqual({
      open: true,
      next: T('2026-03-08T06:00:00-04:00'),
    });
    expect(T('2026-03-08T06:00:00-04:00') - T('2026-03-08T01:00:00-05:00')).toBe(4 * 3600_000);
    expect(windowState(ny, T('2026-03-08T05:59:00-04:00')).open).toBe(true);
    expect(windowState(ny, T('2026-03-08T06:00:00-04:00')).open).toBe(false);
    expect(windowState(ny, T('2026-03-08T00:59:00-05:00'))).toEqual({
      open: false,
      next: T('2026-03-08T01:00:00-05:00'),
    });
  });

  it('America/New_York: a window starting in the skipped hour opens at 03:00 EDT', () => {
    const ny = win('America/New_York', '02:30', '04:00');
    const s = windowState(ny, T('2026-03-08T01:00:00-05:00'));
    expect(s.open).toBe(false);
    expect(s.next).toBe(T('2026-03-08T03:30:00-04:00'));
  });

  it('Europe/London: fall back — the window still closes at 06:00 local, after 6 real hours', () => {
    const london = win('Europe/London', '00:30', '06:00');
    // 2026-10-25: clocks go 02:00 BST → 01:00 GMT
    expect(windowState(london, T('2026-10-25T01:30:00+01:00'))).toEqual({
      open: true,
      next: T('2026-10-25T06:00:00Z'),
    });
    expect(windowState(london, T('2026-10-25T05:59:00Z')).open).toBe(true);
    expect(windowState(london, T('2026-10-25T06:00:00Z')).open).toBe(false);
  });
});

describe('plan: confirm and holds', () => {
  const shanghai = win('Asia/Shanghai', '01:00', '06:00', ['MON', 'TUE', 'WED', 'THU', 'FRI']);
  const openAt = T('2026-12-07T01:30:00+08:00');
  const closedAt = T('2026-12-06T22:00:00+08:00'); // Sunday

  it('confirms while the window is open, with the window and cap in the reason', () => {
    const running = job({ status: 'Active' });
    const s = job();
    const r = plan([pol({ window: shanghai, maxActive: 3 })], byTarget([running, s]), openAt);
    expect(r.actions).toEqual([
      expect.objectContaining({
        jobId: s.jobId,
        action: 'UpdateJobStatus',
        verb: 'confirm',
        requestedJobStatus: 'Ready',
        reason: 'window 01:00–06:00 Asia/Shanghai MON,TUE,WED,THU,FRI open; 1 of maxActive 3 running',
        current: { status: 'Suspended', priority: 10 },
      }),
    ]);
    expect(r.holds).toEqual([]);
  });

  it('holds with the next opening while closed', () => {
    const s = job();
    const r = plan([pol({ window: shanghai })], byTarget([s]), closedAt);
    expect(r.actions).toEqual([]);
    expect(r.holds).toEqual([
      {
        policy: 'nightly',
        jobId: s.jobId,
        status: 'Suspended',
        reason: 'window closed until 2026-12-07T01:00+08:00',
      },
    ]);
  });

  it('confirm: never holds; confirm: always confirms with the window closed', () => {
    const s = job();
    expect(plan([pol({ window: shanghai, confirm: 'never' })], byTarget([s]), openAt).holds[0]?.reason).toBe(
      'confirm: never',
    );
    const r = plan([pol({ window: shanghai, confirm: 'always' })], byTarget([s]), closedAt);
    expect(r.actions.map((a) => [a.verb, a.reason])).toEqual([['confirm', 'confirm: always']]);
  });

  it('admission: highest priority first, then the oldest, up to maxActive', () => {
    const old = job({ priority: 5, creationTime: '2026-12-01T00:00:00Z' });
    const young = job({ priority: 5, creationTime: '2026-12-05T00:00:00Z' });
    const high = job({ priority: 50, creationTime: '2026-12-05T12:00:00Z' });
    const low = job({ priority: 1, creationTime: '2026-11-01T00:00:00Z' });
    const active = job({ status: 'Paused' });
    const r = plan(
      [pol({ window: shanghai, maxActive: 3 })],
      byTarget([low, young, old, high, active]),
      openAt,
    );
    expect(r.actions.map((a) => a.jobId)).toEqual([high.jobId, old.jobId]);
    expect(r.actions[1]!.reason).toMatch(/2 of maxActive 3 running$/);
    expect(r.holds.map((h) => [h.jobId, h.reason])).toEqual([
      [young.jobId, 'maxActive 3 reached (3 Ready/Active/Pausing/Paused)'],
      [low.jobId, 'maxActive 3 reached (3 Ready/Active/Pausing/Paused)'],
    ]);
  });

  it('Preparing is confirmed only on OSS; elsewhere it is held with why', () => {
    const p = job({ status: 'Preparing' });
    const oss = plan([pol({ target: OSS })], byTarget([p], OSS), openAt);
    expect(oss.actions.map((a) => a.verb)).toEqual(['confirm']);
    const cos = plan([pol()], byTarget([p]), openAt);
    expect(cos.actions).toEqual([]);
    expect(cos.holds[0]?.reason).toBe('Preparing: cos accepts a confirm only once the job is Suspended');
  });

  it('olderThanMinutes: a younger job is not matched, an unknown age never is', () => {
    const young = job({ creationTime: '2026-12-06T17:25:00Z' }); // 5 min before openAt
    const unknown = job({ creationTime: null });
    const ten = job({ creationTime: '2026-12-06T17:20:00Z' }); // exactly 10 min
    const r = plan(
      [pol({ match: { descriptionPrefix: 'nightly-', olderThanMinutes: 10 } })],
      byTarget([young, unknown, ten]),
      openAt,
    );
    expect(r.actions.map((a) => a.jobId)).toEqual([ten.jobId]);
    expect(r.matched).toEqual({ nightly: 1 });
  });

  it('terminal jobs are untouched, whatever the rules say', () => {
    const jobs = [...TERMINAL].map((status) =>
      job({ status, priority: 1, progress: { total: 10, succeeded: 0, failed: 10 } }),
    );
    const r = plan(
      [
        pol({
          confirm: 'always',
          priority: { open: 100 },
          cancel: { failedRatioAbove: 0.01, activeLongerThanMinutes: 1 },
        }),
      ],
      byTarget(jobs),
      openAt,
    );
    expect(r).toMatchObject({ actions: [], holds: [], warnings: [], matched: { nightly: 0 } });
  });

  it('report mode plans the same actions, marked report', () => {
    const s = job();
    const r = plan([pol({ mode: 'report', window: shanghai })], byTarget([s]), openAt);
    expect(r.actions).toEqual([expect.objectContaining({ mode: 'report', verb: 'confirm', jobId: s.jobId })]);
  });

  it('a disabled policy holds its jobs and acts on none', () => {
    const s = job();
    const r = plan([pol({ enabled: false, confirm: 'always' })], byTarget([s]), openAt);
    expect(r.actions).toEqual([]);
    expect(r.holds[0]?.reason).toBe('policy disabled (enabled: false)');
  });
});

describe('plan: priority', () => {
  const w = win('UTC', '01:00', '06:00');
  it('sets priority.open while open and priority.closed while closed, only where the status allows', () => {
    const jobs = ['Suspended', 'Active', 'Completing', 'Cancelling', 'Ready'].map((status) =>
      job({ status, priority: 5 }),
    );
    const open = plan(
      [pol({ window: w, confirm: 'never', priority: { open: 100, closed: 1 } })],
      byTarget(jobs),
      T('2026-12-07T02:00:00Z'),
    );
    expect(open.actions.map((a) => [a.current.status, a.priority])).toEqual([
      ['Suspended', 100],
      ['Active', 100],
      ['Ready', 100],
    ]);
    expect(open.actions[0]!.reason).toBe('window 01:00–06:00 UTC open: priority 5 → 100 (priority.open)');
    const closed = plan(
      [pol({ window: w, confirm: 'never', priority: { open: 100, closed: 1 } })],
      byTarget(jobs),
      T('2026-12-07T07:00:00Z'),
    );
    expect(closed.actions.map((a) => a.priority)).toEqual([1, 1, 1]);
  });

  it('plans nothing for a job already at its desired priority', () => {
    const r = plan(
      [pol({ confirm: 'never', priority: { open: 5 } })],
      byTarget([job({ priority: 5 })]),
      T('2026-12-07T02:00:00Z'),
    );
    expect(r.actions).toEqual([]);
  });
});

describe('plan: cancel guards', () => {
  const now = T('2026-12-06T12:00:00Z');
  const ratio = pol({ confirm: 'never', cancel: { failedRatioAbove: 0.05, afterTasks: 1000 } });
  const active = (succeeded: number, failed: number) =>
    job({ status: 'Active', progress: { total: 20_000, succeeded, failed } });

  it.each([
    ['just over the ratio', 950, 50 + 1, true],
    ['at the ratio', 950, 50, false], // 50/1000 = 5% is not above 5%
    ['just under the ratio', 951, 49, false],
    ['over the ratio, just under afterTasks', 900, 99, false], // 999 finished
    ['over the ratio, at afterTasks', 900, 100, true],
  ] as const)('failedRatioAbove %s', (_n, s, f, cancels) => {
    const j = active(s, f);
    const r = plan([ratio], byTarget([j]), now);
    expect(r.actions.length).toBe(cancels ? 1 : 0);
  });

  it('names the figures', () => {
    const r = plan([ratio], byTarget([active(9138, 812)]), now);
    expect(r.actions[0]).toMatchObject({
      verb: 'cancel',
      requestedJobStatus: 'Cancelled',
      reason: 'failed 812 of 9,950 finished tasks (8.2%) > 5% (after 1,000 tasks)',
    });
  });

  it('warns when an Active job has no task counts, and does not guess', () => {
    const r = plan([ratio], byTarget([job({ status: 'Active', progress: null })]), now);
    expect(r.actions).toEqual([]);
    expect(r.warnings.map((w) => w.kind)).toEqual(['progress-unknown']);
  });

  it.each([
    ['just over', 361, true],
    ['at', 360, false],
    ['just under', 359, false],
  ] as const)('activeLongerThanMinutes %s', (_n, minutes, cancels) => {
    const j = job({ status: 'Active', creationTime: new Date(now - minutes * 60_000).toISOString() });
    const r = plan([pol({ confirm: 'never', cancel: { activeLongerThanMinutes: 360 } })], byTarget([j]), now);
    expect(r.actions.map((a) => a.reason)).toEqual(
      cancels ? ['Active 6h 1m since creation > activeLongerThanMinutes 360'] : [],
    );
  });

  it.each([
    ['just over', 20_161, true],
    ['at', 20_160, false],
    ['just under', 20_159, false],
  ] as const)('suspendedLongerThanMinutes %s (cancel comes before confirm)', (_n, minutes, cancels) => {
    const j = job({ creationTime: new Date(now - minutes * 60_000).toISOString() });
    const r = plan(
      [pol({ confirm: 'always', cancel: { suspendedLongerThanMinutes: 20_160 } })],
      byTarget([j]),
      now,
    );
    expect(r.actions.map((a) => a.verb)).toEqual([cancels ? 'cancel' : 'confirm']);
    if (cancels)
      expect(r.actions[0]!.reason).toBe(
        'Suspended 14d 1m since creation > suspendedLongerThanMinutes 20,160',
      );
  });

  it('a job being cancelled gets no priority change', () => {
    const j = active(0, 2000);
    const r = plan(
      [pol({ confirm: 'never', priority: { open: 99 }, cancel: { failedRatioAbove: 0.5 } })],
      byTarget([j]),
      now,
    );
    expect(r.actions.map((a) => a.verb)).toEqual(['cancel']);
  });
});

describe('plan: warnings', () => {
  it('overlapping policies: the first in the file governs, the other warns', () => {
    const s = job();
    const a = pol({ name: 'first', confirm: 'never' });
    const b = pol({ name: 'second', confirm: 'always', match: { descriptionPrefix: 'nightly' } });
    const r = plan([a, b], byTarget([s]), T('2026-12-07T02:00:00Z'));
    expect(r.actions).toEqual([]);
    expect(r.holds).toEqual([
      { policy: 'first', jobId: s.jobId, status: 'Suspended', reason: 'confirm: never' },
    ]);
    expect(r.warnings).toEqual([
      {
        kind: 'overlap',
        policy: 'second',
        jobId: s.jobId,
        message: `${s.jobId} is matched by first and second; first (first in the file) governs`,
      },
    ]);
    expect(r.matched).toEqual({ first: 1, second: 0 });
  });

  it('an OSS job that will fail (14 days Suspended) before the window next opens', () => {
    const w = win('Asia/Shanghai', '01:00', '06:00', ['MON']);
    const now = T('2026-12-07T08:00:00+08:00'); // Monday, after the window: next opens 12-14
    const doomed = job({ creationTime: '2026-11-25T00:00:00Z' }); // fails 12-09
    const fine = job({ creationTime: '2026-12-06T00:00:00Z' }); // fails 12-20
    const r = plan([pol({ target: OSS, window: w })], byTarget([doomed, fine], OSS), now);
    expect(r.warnings).toEqual([
      {
        kind: 'auto-failure',
        policy: 'nightly',
        jobId: doomed.jobId,
        message: `${doomed.jobId}: oss fails a job Suspended 14 days, at 2026-12-09T08:00+08:00, before the window opens at 2026-12-14T01:00+08:00`,
      },
    ]);
    // COS documents no such limit here: no warning
    expect(plan([pol({ window: w })], byTarget([doomed]), now).warnings).toEqual([]);
  });

  it('a policy whose target is outside JOBCTL_ALLOWED_TARGETS plans nothing and warns', () => {
    const allow = parseAllowlist('oss:*@cn-hangzhou');
    const s = job();
    const r = plan([pol({ confirm: 'always' })], byTarget([s]), 0, { allows: allow.allows });
    expect(r.actions).toEqual([]);
    expect(r.warnings.map((w) => w.kind)).toEqual(['not-allowed']);
    expect(r.holds[0]?.reason).toBe('target outside JOBCTL_ALLOWED_TARGETS');
  });
});

describe('plan: properties', () => {
  const statuses = JOB_STATUSES;
  const jobArb = fc.record({
    jobId: fc.stringMatching(/^[a-z0-9]{1,6}$/),
    status: fc.constantFrom(...statuses),
    priority: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
    description: fc.option(fc.constantFrom('nightly-a', 'nightly-b', 'bulk-a', 'other'), { nil: null }),
    creationTime: fc.option(
      fc
        .integer({ min: T('2026-11-01T00:00:00Z'), max: T('2026-12-08T00:00:00Z') })
        .map((t) => new Date(t).toISOString()),
      { nil: null },
    ),
    progress: fc.option(
      fc.record({
        total: fc.constant(1000),
        succeeded: fc.integer({ min: 0, max: 500 }),
        failed: fc.integer({ min: 0, max: 500 }),
      }),
      { nil: null },
    ),
  });
  const policyArb = fc.record({
    prefix: fc.constantFrom('nightly-', 'nightly', 'bulk-', ''),
    confirm: fc.constantFrom('window', 'always', 'never'),
    maxActive: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    start: fc.integer({ min: 0, max: 23 }),
    len: fc.integer({ min: 1, max: 23 }),
    tz: fc.constantFrom('UTC', 'Asia/Shanghai', 'America/New_York', 'Europe/London'),
    ratio: fc.option(fc.double({ min: 0, max: 0.9, noNaN: true }), { nil: undefined }),
  });
  type PolicyArgs = typeof policyArb extends fc.Arbitrary<infer U> ? U : never;
  const toPolicy = (a: PolicyArgs, i: number): Policy => {
    const hh = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
    return pol({
      name: `p${i}`,
      match: a.prefix ? { descriptionPrefix: a.prefix } : { olderThanMinutes: 0 },
      confirm: a.confirm as Policy['confirm'],
      maxActive: a.maxActive,
      window: win(a.tz, hh(a.start), hh(a.start + a.len)),
      priority: { open: 7, closed: 2 },
      cancel: a.ratio === undefined ? undefined : { failedRatioAbove: a.ratio },
    });
  };

  it('never names a terminal job, never exceeds maxActive, and is deterministic', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(jobArb, { selector: (j) => j.jobId, maxLength: 40 }),
        fc.array(policyArb, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: T('2026-12-01T00:00:00Z'), max: T('2026-12-10T00:00:00Z') }),
        (jobs, pa, now) => {
          const policies = pa.map(toPolicy);
          const input = byTarget(jobs);
          const r = plan(policies, input, now);
          const status = new Map(jobs.map((j) => [j.jobId, j.status]));
          for (const a of r.actions) expect(TERMINAL.has(status.get(a.jobId)!)).toBe(false);
          for (const h of r.holds) expect(TERMINAL.has(status.get(h.jobId)!)).toBe(false);
          // every job has at most one governing policy, so each policy's running count is its own
          const owner = new Map<string, string>();
          for (const p of policies)
            for (const j of jobs)
              if (
                !TERMINAL.has(j.status) &&
                !owner.has(j.jobId) &&
                (p.match.descriptionPrefix !== undefined
                  ? (j.description ?? '').startsWith(p.match.descriptionPrefix)
                  : j.creationTime !== null && Date.parse(j.creationTime) <= now)
              )
                owner.set(j.jobId, p.name);
          for (const p of policies) {
            if (p.maxActive === undefined) continue;
            const running = jobs.filter((j) => owner.get(j.jobId) === p.name && RUNNING.has(j.status)).length;
            const confirms = r.actions.filter((a) => a.policy === p.name && a.verb === 'confirm').length;
            expect(running + confirms).toBeLessThanOrEqual(Math.max(p.maxActive, running));
          }
          expect(plan(policies, input, now)).toEqual(r);
          expect(plan(policies, byTarget([...jobs].reverse()), now)).toEqual(
            sortedLike(r, plan(policies, byTarget([...jobs].reverse()), now)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** Same decisions whatever the listing order: compare as sets. */
function sortedLike<T extends { actions: unknown[]; holds: unknown[]; warnings: unknown[] }>(a: T, b: T): T {
  const key = (x: unknown) => JSON.stringify(x);
  const same = (xs: unknown[], ys: unknown[]) => {
    const s = [...ys].map(key).sort();
    return [...xs].map(key).sort().join('\n') === s.join('\n') ? ys : xs;
  };
  return {
    ...a,
    actions: same(a.actions, b.actions),
    holds: same(a.holds, b.holds),
    warnings: same(a.warnings, b.warnings),
  };
}
