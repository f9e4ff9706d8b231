/**
 * The reconciler on the real parts: functions/reconcile.ts and functions/transitions.ts against
 * fauxqs queues and the sandbox over 127.0.0.1, with the sandbox's lifecycle on a test clock.
 * Tick times lie in the future of the wall clock, so the messages' notAfter never lapses while
 * the test runs, whatever day it runs on.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { createReconcileHandler } from '../functions/reconcile';
import type { Outcome } from '../lib/core/outcome';
import { type Policy, parsePolicies } from '../lib/core/policies';
import { wallTime } from '../lib/core/zone';
import type { TransitionsHandler } from '../lib/lambda/handlers';
import type { ReconcileReport } from '../lib/lambda/reconcile';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import { context, drain, drainResults, type Stack, sqsEvent, startStack } from './support/harness';

const COS = EXAMPLE_TARGETS.cos;
const SCOPE = { provider: 'cos' as const, namespace: COS.appId };
const MIN = 60_000;

/** A whole hour at least a day ahead: the window opens at B. */
const B = Math.ceil(Date.now() / 3600_000) * 3600_000 + 24 * 3600_000;
const H = wallTime(B, 'Asia/Shanghai').hour;
const hh = (h: number) => `'${String(h % 24).padStart(2, '0')}:00'`;

function policies(extra = '', body = ''): Policy[] {
  const text = `policies:
  - name: nightly
    target: { provider: cos, region: ap-guangzhou, account: '100000000001', appId: '1250000000' }
    match: { descriptionPrefix: nightly-, olderThanMinutes: 1 }
    window: { timezone: Asia/Shanghai, start: ${hh(H)}, end: ${hh(H + 4)} }
${body}${extra}`;
  const r = parsePolicies(text);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.policies;
}

let stack: Stack | undefined;
/** The real handler on the current test's stack (its runtime as last wired). */
const transitions: TransitionsHandler = (event, ctx) => stack!.handlers.transitions(event, ctx);
let clock = B;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const iso = (ms: number) => new Date(ms).toISOString();
const seedJob = (jobId: string, over: Record<string, unknown> = {}) => ({
  ...COS,
  jobId,
  status: 'Suspended' as const,
  description: `nightly-${jobId.slice(-1)}`,
  creationTime: iso(B - 60 * MIN),
  ...over,
});
const id = (n: number) => `bbbbbbbb-0000-4000-8000-00000000000${n}`;

async function start(seed: ReturnType<typeof seedJob>[], env: NodeJS.ProcessEnv = {}) {
  clock = B - 10 * MIN;
  stack = await startStack({ sandbox: { seed, pace: { stepMs: MIN }, now: () => clock }, env });
  return stack;
}

async function tick(s: Stack, at: number, list: Policy[]): Promise<ReconcileReport> {
  const handler = createReconcileHandler(s.runtime, list, s.env);
  return handler({ tickTime: iso(at) }, context());
}

/** Deliver everything on the requests queue to the transitions function; its outcomes. */
async function apply(s: Stack): Promise<Outcome[]> {
  const bodies = await drain(s.sqs, s.queues.requestsQueueUrl);
  if (bodies.length > 0) {
    const r = await transitions(sqsEvent(bodies), context());
    expect(r.batchItemFailures).toEqual([]);
  }
  return (await drainResults(s)).filter((r): r is Outcome => !('type' in r));
}

const status = (s: Stack, jobId: string) => s.sandbox.store.get(SCOPE, jobId)?.status;

describe('functions/reconcile.ts on the real parts', () => {
  it('a job created after the window opened is confirmed on the next tick; a missed tick is made up; a duplicate tick is unchanged', async () => {
    const s = await start([seedJob(id(1))]);
    const list = policies();

    const closed = await tick(s, B - 5 * MIN, list);
    expect(closed.policies[0]).toMatchObject({ name: 'nightly', matched: 1, actions: 0, holds: 1 });
    expect(closed.policies[0]!.holdList[0]!.reason).toMatch(
      /^window closed until \d{4}-\d\d-\d\dT\d\d:00\+08:00$/,
    );
    expect(await apply(s)).toEqual([]);
    expect((await drainResults(s)).length).toBe(0);

    // The tick at B (the window opening) never runs. A job is created after the window opened.
    clock = B + 2 * MIN;
    const created = s.sandbox.store.createJob(SCOPE, {
      description: 'nightly-late',
      priority: 10,
      confirmationRequired: true,
    });
    clock = B + 5 * MIN;
    expect(status(s, created.jobId)).toBe('Suspended');

    // The next tick confirms both; delivered twice (a scheduler retry) before anything is applied.
    const first = await tick(s, B + 5 * MIN, list);
    const again = await tick(s, B + 5 * MIN, list);
    expect(first.enqueued).toBe(2);
    expect(again.policies[0]!.actionList.map((a) => a.id)).toEqual(
      first.policies[0]!.actionList.map((a) => a.id),
    );
    const tickIso = iso(B + 5 * MIN).replace('.000Z', 'Z');
    expect(first.policies[0]!.actionList.map((a) => [a.id, a.verb, a.enqueued])).toEqual(
      [id(1), created.jobId].map((j) => [`reconcile/nightly/${tickIso}/${j}/confirm`, 'confirm', true]),
    );
    expect(first.policies[0]!.actionList[0]!.reason).toMatch(/^window \d\d:00–\d\d:00 Asia\/Shanghai open$/);

    const outcomes = await apply(s);
    const byId = new Map<string, string[]>();
    for (const o of outcomes) byId.set(o.id, [...(byId.get(o.id) ?? []), o.outcome]);
    expect([...byId.values()].map((v) => v.sort())).toEqual([
      ['applied', 'unchanged'],
      ['applied', 'unchanged'],
    ]);
    expect(status(s, id(1))).toBe('Ready');
    expect(status(s, created.jobId)).toBe('Ready');
    expect(s.sandbox.store.get(SCOPE, id(1))?.statusUpdateReason).toMatch(/^jobctl policy nightly: window /);
  });

  it('maxActive holds across ticks as jobs complete: highest priority first, then the oldest', async () => {
    const s = await start([
      seedJob(id(1), { priority: 10, creationTime: iso(B - 50 * MIN) }),
      seedJob(id(2), { priority: 30 }),
      seedJob(id(3), { priority: 10, creationTime: iso(B - 70 * MIN) }),
      seedJob(id(4), { priority: 20 }),
    ]);
    const list = policies('    maxActive: 2\n');
    clock = B + MIN;
    const t1 = await tick(s, clock, list);
    expect(t1.policies[0]!.actionList.map((a) => a.jobId)).toEqual([id(2), id(4)]);
    expect(t1.policies[0]!.actionList[1]!.reason).toMatch(/; 1 of maxActive 2 running$/);
    expect(t1.policies[0]!.holdList.map((h) => [h.jobId, h.reason])).toEqual([
      [id(3), 'maxActive 2 reached (2 Ready/Active/Pausing/Paused)'],
      [id(1), 'maxActive 2 reached (2 Ready/Active/Pausing/Paused)'],
    ]);
    expect((await apply(s)).map((o) => o.outcome)).toEqual(['applied', 'applied']);

    clock = B + 3 * MIN; // both Active now: nothing moves
    const t2 = await tick(s, clock, list);
    expect([t2.policies[0]!.actions, t2.policies[0]!.holds]).toEqual([0, 2]);
    expect(await apply(s)).toEqual([]);

    // Let the two run to completion (bounded: at most 30 minutes of test clock).
    for (let i = 0; i < 30 && status(s, id(2)) !== 'Complete'; i++) clock += MIN;
    expect([status(s, id(2)), status(s, id(4))]).toEqual(['Complete', 'Complete']);
    const t3 = await tick(s, clock, list);
    expect(t3.policies[0]!.actionList.map((a) => a.jobId)).toEqual([id(3), id(1)]);
    expect((await apply(s)).map((o) => o.outcome)).toEqual(['applied', 'applied']);
    expect([status(s, id(1)), status(s, id(3))]).toEqual(['Ready', 'Ready']);
  });

  it('a failing job is cancelled with the figures in its reason; so is one running too long', async () => {
    const s = await start([
      seedJob(id(1), { status: 'Active', totalTasks: 20_000, tasksSucceeded: 9138, tasksFailed: 812 }),
      seedJob(id(2), { status: 'Active', creationTime: iso(B - 10 * MIN - 7 * 60 * MIN) }),
    ]);
    const list = policies(
      '    cancel: { failedRatioAbove: 0.05, afterTasks: 1000, activeLongerThanMinutes: 360 }\n',
    );
    const r = await tick(s, clock, list);
    const reasons = Object.fromEntries(r.policies[0]!.actionList.map((a) => [a.jobId, [a.verb, a.reason]]));
    expect(reasons[id(2)]).toEqual(['cancel', 'Active 7h since creation > activeLongerThanMinutes 360']);
    const progressListed = !r.policies[0]!.warningList.some((w) => w.includes('gave no task counts'));
    if (progressListed)
      expect(reasons[id(1)]).toEqual([
        'cancel',
        'failed 812 of 9,950 finished tasks (8.2%) > 5% (after 1,000 tasks)',
      ]);
    const outcomes = await apply(s);
    expect(outcomes.every((o) => o.outcome === 'applied')).toBe(true);
    expect(status(s, id(2))).toMatch(/^Cancell/);
    expect(s.sandbox.store.get(SCOPE, id(2))?.statusUpdateReason).toBe(
      'jobctl policy nightly: Active 7h since creation > activeLongerThanMinutes 360',
    );
    if (progressListed) {
      expect(status(s, id(1))).toMatch(/^Cancell/);
      expect(s.sandbox.store.get(SCOPE, id(1))?.statusUpdateReason).toContain(
        'failed 812 of 9,950 finished tasks (8.2%)',
      );
    } else {
      // This provider's ListJobs carries no task counts yet: the planner says so and does not guess.
      expect(status(s, id(1))).toBe('Active');
    }
  });

  it('an unlisted target is reported and skipped; report mode sends nothing; the reconcile report is on the results queue', async () => {
    const s = await start([seedJob(id(1))], { ALIBABA_CLOUD_ACCESS_KEY_ID: '' });
    const list = policies(
      `  - name: oss
    target: { provider: oss, region: cn-hangzhou }
    match: { descriptionPrefix: nightly- }
  - name: dry
    mode: report
    target: { provider: cos, region: ap-guangzhou, account: '100000000001', appId: '1250000000' }
    match: { descriptionPrefix: nightly- }
    confirm: always
`,
      '    confirm: never\n',
    );
    clock = B + MIN;
    // `nightly` (confirm: never) governs the job; move it to `dry` by putting dry first.
    const ordered = [list[2]!, list[0]!, list[1]!];
    const r = await tick(s, clock, ordered);
    expect(r.unlisted.map((u) => u.key)).toEqual(['oss#-#cn-hangzhou#-']);
    expect(r.targets.map((t) => [t.key, t.jobs])).toEqual([['cos#100000000001#ap-guangzhou#1250000000', 1]]);
    expect(r.policies.map((p) => [p.name, p.mode, p.matched, p.actions])).toEqual([
      ['dry', 'report', 1, 1],
      ['nightly', 'enforce', 0, 0],
      ['oss', 'enforce', 0, 0],
    ]);
    expect(r.policies[0]!.actionList[0]).toMatchObject({
      verb: 'confirm',
      enqueued: false,
      reason: 'confirm: always',
    });
    expect(r.enqueued).toBe(0);
    const results = await drainResults(s);
    expect(results.filter((x) => 'type' in x && (x as { type: string }).type === 'reconcile')).toHaveLength(
      1,
    );
    expect(await apply(s)).toEqual([]);
    expect(status(s, id(1))).toBe('Suspended');
  });
});

describe('reconcileTick past its deadline', () => {
  it('stops enqueueing, says so, and still publishes its report', async () => {
    const s = await start([seedJob(id(1)), seedJob(id(2)), seedJob(id(3))]);
    clock = B + MIN;
    const { reconcileTick } = await import('../lib/lambda/reconcile');
    // The clock jumps past the deadline once the listing is done, as a slow provider would make it.
    let late = 0;
    const providers = {
      ...s.runtime.providers,
      async get(name: Parameters<typeof s.runtime.providers.get>[0]) {
        const p = await s.runtime.providers.get(name);
        return {
          ...p,
          provider: p.provider,
          updateStatus: p.updateStatus.bind(p),
          updatePriority: p.updatePriority.bind(p),
          describe: p.describe.bind(p),
          list: async (...a: Parameters<typeof p.list>) => {
            const page = await p.list(...a);
            late = 60_000;
            return page;
          },
        };
      },
    };
    const { report } = await reconcileTick(
      policies(),
      context(),
      {
        providers,
        allowlist: s.runtime.config.allowlist,
        retry: s.runtime.config.retry,
        publisher: s.runtime.publisher,
        enqueue: s.runtime.enqueue,
        reserveMs: 2_000,
        now: () => Date.now() + late * 1000,
      },
      { tickTime: iso(clock) },
    );
    expect(report).toMatchObject({ stoppedAtDeadline: true, enqueued: 0, notEnqueued: 3 });
    expect(report.policies[0]!.actionList.map((a) => a.enqueued)).toEqual([false, false, false]);
    expect(await drain(s.sqs, s.queues.requestsQueueUrl)).toEqual([]);
    expect((await drainResults(s)).filter((x) => 'type' in x)).toHaveLength(1);
  });
});

describe('jobctl reconcile --once', () => {
  it('ticks through the requests queue like the function, and exits 2 for a broken policy file', async () => {
    const { cli } = await import('./support/io');
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const s = await start([seedJob(id(1))]);
    const dir = await mkdtemp(join(tmpdir(), 'jobctl-reconcile-'));
    try {
      const f = join(dir, 'p.yml');
      await writeFile(
        f,
        "policies:\n  - name: now\n    target: { provider: cos, region: ap-guangzhou, account: '100000000001', appId: '1250000000' }\n    match: { descriptionPrefix: nightly- }\n    confirm: always\n",
      );
      const r = await cli(['reconcile', '--policies', f, '--once', '--json'], { env: s.env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [report] = r.json<ReconcileReport>();
      expect(report).toMatchObject({
        type: 'reconcile',
        enqueued: 1,
        policies: [{ name: 'now', actions: 1 }],
      });
      expect((await apply(s)).map((o) => [o.jobId, o.outcome])).toEqual([[id(1), 'applied']]);
      await writeFile(f, 'policies:\n  - name: now\n');
      const bad = await cli(['reconcile', '--policies', f, '--once'], { env: s.env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe(`${f}:2: policy now: target: is required\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
