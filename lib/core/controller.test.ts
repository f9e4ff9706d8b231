import { describe, expect, it } from 'vitest';
import { ProviderError } from '../providers/errors';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { staticRegistry } from '../providers/index';
import type { Job, JobControl, JobPage } from '../providers/types';
import { parseAllowlist } from './allowlist';
import { createController, MAX_LIST_PAGES } from './controller';
import { classify, cutUtf8, exitCodeFor, isTerminal, PolicyRefusal, superseded } from './outcome';
import { RetriesExhausted, type RetryEnv } from './retry';
import type { JobTransition, SelectTransition } from './transition';

/** A clock that only moves when the controller sleeps or a call takes time. */
function fakeEnv(): RetryEnv & { sleeps: number[]; t: number } {
  const env = {
    t: Date.parse('2026-11-24T01:00:00Z'),
    sleeps: [] as number[],
    now: () => env.t,
    random: () => 0.5,
    sleep: async (ms: number) => {
      env.sleeps.push(ms);
      env.t += ms;
    },
  };
  return env;
}

type Step = Error | Partial<Job> | { priority: number };

/** A provider whose answers are scripted per operation; records every call. */
function scripted(script: { update?: Step[]; describe?: Step[]; priority?: Step[] }) {
  const calls: string[] = [];
  const next = async <T>(op: 'update' | 'describe' | 'priority', make: (s: Step) => T): Promise<T> => {
    calls.push(op);
    const s = script[op]?.shift();
    if (s === undefined) throw new Error(`unexpected ${op} call`);
    if (s instanceof Error) throw s;
    return make(s);
  };
  const job = (s: Step): Job => ({
    jobId: 'j1',
    status: 'Suspended',
    priority: 10,
    description: null,
    creationTime: null,
    statusUpdateReason: null,
    ...s,
  });
  const provider: JobControl = {
    provider: 'cos',
    updateStatus: (_t, jobId, requested) =>
      next('update', (s) => ({ jobId, status: (s as Job).status ?? requested, statusUpdateReason: null })),
    updatePriority: (_t, jobId, p) => next('priority', () => ({ jobId, priority: p })),
    describe: () => next('describe', job),
    list: async () => ({ jobs: [], nextToken: null }),
  };
  return { provider, calls };
}

const err = (kind: ConstructorParameters<typeof ProviderError>[0]['kind'], code: string, httpStatus = 400) =>
  new ProviderError({ kind, code, message: code, httpStatus, requestId: 'req-1' });

const ready: JobTransition = {
  id: 't-1',
  provider: 'cos',
  region: EXAMPLE_TARGETS.cos.region,
  account: EXAMPLE_TARGETS.cos.account,
  appId: EXAMPLE_TARGETS.cos.appId,
  jobId: 'j1',
  action: 'UpdateJobStatus',
  requestedJobStatus: 'Ready',
};
const cancel: JobTransition = { ...ready, requestedJobStatus: 'Cancelled' };
const prio: JobTransition = { ...ready, action: 'UpdateJobPriority', priority: 50 } as JobTransition;

function run(t: JobTransition, script: Parameters<typeof scripted>[0], allow = '') {
  const { provider, calls } = scripted(script);
  const env = fakeEnv();
  const c = createController({
    providers: staticRegistry({ cos: provider }),
    allowlist: parseAllowlist(allow),
    retryEnv: env,
  });
  return c.apply(t, { type: 'cli' }, { id: 'fallback' }).then((o) => ({ o, calls, env }));
}

describe('apply: the outcome table', () => {
  it.each([
    // [name, transition, script, outcome, status, error code, calls]
    ['accepted → applied', ready, { update: [{ status: 'Ready' }] }, 'applied', 'Ready', null, ['update']],
    [
      'refused, job already Active → unchanged',
      ready,
      { update: [err('conflict', 'InvalidRequest')], describe: [{ status: 'Active' }] },
      'unchanged',
      'Active',
      null,
      ['update', 'describe'],
    ],
    [
      'refused, job Complete → unchanged for Ready',
      ready,
      { update: [err('conflict', 'InvalidRequest')], describe: [{ status: 'Complete' }] },
      'unchanged',
      'Complete',
      null,
      ['update', 'describe'],
    ],
    [
      'refused, job Failed → rejected with the provider code',
      ready,
      { update: [err('conflict', 'InvalidRequest')], describe: [{ status: 'Failed' }] },
      'rejected',
      'Failed',
      'InvalidRequest',
      ['update', 'describe'],
    ],
    [
      'cancel refused, already Cancelling → unchanged',
      cancel,
      { update: [err('conflict', 'JobStatusException')], describe: [{ status: 'Cancelling' }] },
      'unchanged',
      'Cancelling',
      null,
      ['update', 'describe'],
    ],
    [
      'cancel refused, Complete → rejected',
      cancel,
      { update: [err('conflict', 'InvalidRequest')], describe: [{ status: 'Complete' }] },
      'rejected',
      'Complete',
      'InvalidRequest',
      ['update', 'describe'],
    ],
    [
      // Issue 12.11: the NoSuchJob is read like a refusal; DescribeJob confirms the job is not there.
      'NoSuchJob, and DescribeJob agrees → rejected NoSuchJob, no retry',
      ready,
      { update: [err('not-found', 'NoSuchJob', 404)], describe: [err('not-found', 'NoSuchJob', 404)] },
      'rejected',
      null,
      'NoSuchJob',
      ['update', 'describe'],
    ],
    [
      // COS answers NoSuchJob (404, "指定作业已完成") for a status change of a finished job.
      'cancel answered NoSuchJob, job already Cancelled → unchanged',
      cancel,
      { update: [err('not-found', 'NoSuchJob', 404)], describe: [{ status: 'Cancelled' }] },
      'unchanged',
      'Cancelled',
      null,
      ['update', 'describe'],
    ],
    [
      // The same status model as a refusal: a Complete job went through Ready.
      'Ready answered NoSuchJob, job Complete → unchanged',
      ready,
      { update: [err('not-found', 'NoSuchJob', 404)], describe: [{ status: 'Complete' }] },
      'unchanged',
      'Complete',
      null,
      ['update', 'describe'],
    ],
    [
      'cancel answered NoSuchJob, job Complete → rejected with the provider code',
      cancel,
      { update: [err('not-found', 'NoSuchJob', 404)], describe: [{ status: 'Complete' }] },
      'rejected',
      'Complete',
      'NoSuchJob',
      ['update', 'describe'],
    ],
    [
      'AccessDenied → rejected',
      ready,
      { update: [err('auth', 'AccessDenied', 403)] },
      'rejected',
      null,
      'AccessDenied',
      ['update'],
    ],
    [
      '503 then success → applied after a retry',
      ready,
      { update: [err('throttled', 'SlowDown', 503), { status: 'Ready' }] },
      'applied',
      'Ready',
      null,
      ['update', 'update'],
    ],
    [
      'priority differs → applied',
      prio,
      { describe: [{ priority: 10, status: 'Active' }], priority: [{ priority: 50 }] },
      'applied',
      null,
      null,
      ['describe', 'priority'],
    ],
    [
      'priority already equal → unchanged, nothing sent',
      prio,
      { describe: [{ priority: 50, status: 'Active' }] },
      'unchanged',
      'Active',
      null,
      ['describe'],
    ],
    [
      'priority: describe denied → update anyway',
      prio,
      { describe: [err('auth', 'AccessDenied', 403)], priority: [{ priority: 50 }] },
      'applied',
      null,
      null,
      ['describe', 'priority'],
    ],
    [
      'priority on a missing job → rejected',
      prio,
      { describe: [err('not-found', 'NoSuchJob', 404)] },
      'rejected',
      null,
      'NoSuchJob',
      ['describe'],
    ],
  ] as const)('%s', async (_, t, script, outcome, status, code, calls) => {
    // Copy the arrays (run() consumes them) but keep the error instances as they are.
    const copy = Object.fromEntries(Object.entries(script).map(([k, v]) => [k, [...(v as Step[])]]));
    const r = await run(t, copy);
    expect(r.o.outcome).toBe(outcome);
    expect(r.o.status).toBe(status);
    expect(r.o.error?.code ?? null).toBe(code);
    expect(r.calls).toEqual(calls);
    expect(r.o.id).toBe('t-1');
  });
});

describe('apply: retries', () => {
  it('transient errors outlive the budget → failed, with the attempt count and the last error', async () => {
    const r = await run(ready, {
      update: Array.from({ length: 5 }, () => err('server', 'InternalError', 500)),
    });
    expect(r.o.outcome).toBe('failed');
    expect(r.o.attempts).toBe(5);
    expect(r.o.error).toMatchObject({ code: 'InternalError', httpStatus: 500, requestId: 'req-1' });
    // full jitter with random 0.5: half of 200, 400, 800, 1600
    expect(r.env.sleeps).toEqual([100, 200, 400, 800]);
  });

  it('a hanging provider never takes the controller past the deadline', async () => {
    const env = fakeEnv();
    const start = env.t;
    const timeouts: number[] = [];
    // Each call hangs for exactly the timeout it is given, then times out.
    const hang = async (opts?: { timeoutMs?: number }) => {
      timeouts.push(opts?.timeoutMs ?? Number.NaN);
      env.t += opts?.timeoutMs ?? 0;
      throw err('timeout', 'Timeout', 0);
    };
    const provider = {
      ...scripted({}).provider,
      updateStatus: (_a: unknown, _b: unknown, _c: unknown, _d: unknown, o?: { timeoutMs?: number }) =>
        hang(o),
    } as JobControl;
    const c = createController({
      providers: staticRegistry({ cos: provider }),
      allowlist: parseAllowlist(''),
      retryEnv: env,
    });
    const o = await c.apply(ready, { type: 'cli' }, { id: 'x', deadline: start + 1500 });
    expect(o.outcome).toBe('failed');
    expect(env.t - start).toBeLessThanOrEqual(1500);
    // The first call may use all 1500 ms; nothing is started after it with < 250 ms left.
    expect(timeouts).toEqual([1500]);
  });

  it('the per-call timeout shrinks as the deadline nears', async () => {
    const env = fakeEnv();
    const start = env.t;
    const timeouts: number[] = [];
    const provider = {
      ...scripted({}).provider,
      updateStatus: async (
        _a: unknown,
        _b: unknown,
        _c: unknown,
        _d: unknown,
        o?: { timeoutMs?: number },
      ) => {
        timeouts.push(o?.timeoutMs ?? Number.NaN);
        env.t += 300; // fails fast, well inside its timeout
        throw err('server', 'InternalError', 500);
      },
    } as JobControl;
    const c = createController({
      providers: staticRegistry({ cos: provider }),
      allowlist: parseAllowlist(''),
      retryEnv: env,
    });
    await c.apply(ready, { type: 'cli' }, { id: 'x', deadline: start + 2000 });
    // t=0 call (2000 left) → 300, wait 100 → 400 (1600 left), call → 700, wait 200 → 900 (1100 left),
    // call → 1200, wait 400 → 1600 (400 left), call → 1900; a wait of 800 would pass the deadline: stop.
    expect(timeouts).toEqual([2000, 1600, 1100, 400]);
  });

  it('a bug in a provider (not a ProviderError) is failed, not thrown', async () => {
    const r = await run(ready, { update: [new TypeError('boom')] });
    expect(r.o.outcome).toBe('failed');
    expect(r.o.error?.code).toBe('InternalError');
  });
});

describe('apply: policy, before anything is sent', () => {
  it('after notAfter → expired', async () => {
    const r = await run({ ...ready, notAfter: '2026-11-24T08:59:59+08:00' }, {});
    expect(r.o.outcome).toBe('expired');
    expect(r.calls).toEqual([]);
  });

  it('before notAfter → sent', async () => {
    const r = await run(
      { ...ready, notAfter: '2026-11-24T09:00:01+08:00' },
      { update: [{ status: 'Ready' }] },
    );
    expect(r.o.outcome).toBe('applied');
  });

  it.each([
    ['cos:100000000001@ap-guangzhou', 'applied'],
    ['cos:100000000001', 'applied'],
    ['cos:*@ap-*', 'applied'],
    ['*', 'applied'],
    ['cos:100000000002', 'rejected'],
    ['oss:*', 'rejected'],
    ['cos:100000000001@ap-beijing', 'rejected'],
  ])('allowlist %s → %s', async (allow, outcome) => {
    const r = await run(ready, { update: [{ status: 'Ready' }] }, allow);
    expect(r.o.outcome).toBe(outcome);
    if (outcome === 'rejected') {
      expect(r.o.error?.code).toBe('TargetNotAllowed');
      expect(r.calls).toEqual([]);
    }
  });

  it('a provider that cannot be configured → failed (waits for a fix), nothing thrown', async () => {
    const c = createController({
      providers: {
        get: () => Promise.reject(new Error('TENCENTCLOUD_SECRETID is not set')),
        close: () => undefined,
      },
      allowlist: parseAllowlist(''),
      retryEnv: fakeEnv(),
    });
    const o = await c.apply(ready, { type: 'cli' }, { id: 'x' });
    expect(o.outcome).toBe('failed');
    expect(o.error).toMatchObject({ code: 'ConfigurationError' });
  });
});

describe('handleBody', () => {
  const c = createController({
    providers: staticRegistry({}),
    allowlist: parseAllowlist(''),
    retryEnv: fakeEnv(),
  });

  it('invalid JSON → invalid outcome with raw and the fallback id', async () => {
    const o = await c.handleBody('{nope', { type: 'sqs', messageId: 'm-1' }, { id: 'm-1' });
    expect(o).toMatchObject({ outcome: 'invalid', id: 'm-1', raw: '{nope', error: { field: '(message)' } });
  });

  it('schema-invalid → echoes the correlating fields it can', async () => {
    const body = JSON.stringify({ ...ready, priority: 'high' });
    const o = await c.handleBody(body, { type: 'sqs', messageId: 'm-2' }, { id: 'm-2' });
    expect(o).toMatchObject({
      outcome: 'invalid',
      id: 't-1',
      provider: 'cos',
      jobId: 'j1',
      error: { field: 'priority' },
    });
  });

  it('raw is cut to 8 KiB on a character boundary', async () => {
    const body = JSON.stringify({ x: '批'.repeat(5000) });
    const o = await c.handleBody(body, { type: 'cli' }, { id: 'x' });
    if (!('outcome' in o)) throw new Error('expected an outcome');
    expect(Buffer.byteLength(o.raw ?? '')).toBeLessThanOrEqual(8192);
    expect(o.raw?.includes('\ufffd')).toBe(false);
    expect(body.startsWith(o.raw ?? 'nope')).toBe(true);
  });

  it('a select message is handed back for fan-out', async () => {
    const { jobId: _, ...rest } = ready;
    const o = await c.handleBody(
      JSON.stringify({ ...rest, select: { statuses: ['Suspended'] } }),
      { type: 'cli' },
      { id: 'x' },
    );
    expect('select' in o).toBe(true);
  });
});

describe('expand: ListJobs pages (issues 12.4, 12.5)', () => {
  const select: SelectTransition = {
    id: 'sel',
    provider: 'cos',
    region: EXAMPLE_TARGETS.cos.region,
    account: EXAMPLE_TARGETS.cos.account,
    appId: EXAMPLE_TARGETS.cos.appId,
    action: 'UpdateJobStatus',
    requestedJobStatus: 'Ready',
    select: { statuses: ['Suspended'], max: 100_000 },
  };
  const jobOf = (n: number): Job => ({
    jobId: `j${n}`,
    status: 'Suspended',
    priority: 1,
    description: null,
    creationTime: null,
    statusUpdateReason: null,
  });

  function lister(page: (call: number, token: string | undefined) => JobPage) {
    const tokens: (string | undefined)[] = [];
    const provider: JobControl = {
      provider: 'cos',
      updateStatus: () => Promise.reject(new Error('not here')),
      updatePriority: () => Promise.reject(new Error('not here')),
      describe: () => Promise.reject(new Error('not here')),
      list: async (_t, q) => {
        tokens.push(q.nextToken);
        // Bounded whatever the controller does: a runaway listing fails the test, not the machine.
        if (tokens.length > 5_000) throw new Error('runaway listing');
        return page(tokens.length, q.nextToken);
      },
    };
    const c = createController({
      providers: staticRegistry({ cos: provider }),
      allowlist: parseAllowlist(''),
      retryEnv: fakeEnv(),
    });
    return { c, tokens };
  }

  it('the same NextToken for ever: refused as a malformed answer after two calls', async () => {
    const { c, tokens } = lister((n) => ({ jobs: [jobOf(n)], nextToken: 'same' }));
    const pages: string[][] = [];
    const error = await c
      .expand(select, { id: 'x' }, async (p) => {
        pages.push(p.map((t) => t.jobId));
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'RepeatedPageToken', retryable: true });
    expect(tokens).toEqual([undefined, 'same']);
    // What was listed before the repeat was streamed, once each.
    expect(pages).toEqual([['j1'], ['j2']]);
  });

  it('a token that comes back after others is refused too (no cycle)', async () => {
    const { c, tokens } = lister((n) => ({ jobs: [], nextToken: n % 2 === 0 ? 'a' : 'b' }));
    await expect(c.expand(select, { id: 'x' }, async () => {})).rejects.toMatchObject({
      code: 'RepeatedPageToken',
    });
    expect(tokens).toEqual([undefined, 'b', 'a']);
  });

  it('fresh tokens for ever with nothing matching: stops at the page bound, reported truncated', async () => {
    const { c, tokens } = lister((n) => ({ jobs: [], nextToken: `t${n}` }));
    const x = await c.expand(select, { id: 'x' }, async () => {});
    expect(tokens.length).toBe(MAX_LIST_PAGES);
    expect(x).toEqual({ matched: 0, selected: 0, truncated: true });
  });

  it('the same token for ever with matches: never more than `max` transitions', async () => {
    const { c, tokens } = lister((n) => ({ jobs: [jobOf(n)], nextToken: `t${n}` }));
    let got = 0;
    const x = await c.expand({ ...select, select: { max: 3 } }, { id: 'x' }, async (p) => {
      got += p.length;
    });
    expect(got).toBe(3);
    expect(tokens.length).toBe(3);
    expect(x).toEqual({ matched: 3, selected: 3, truncated: true });
  });

  it('a listing budget bounds the ListJobs time of a select (the deadline `jobctl apply` lacked)', async () => {
    const env = fakeEnv();
    let calls = 0;
    const provider: JobControl = {
      provider: 'cos',
      updateStatus: () => Promise.reject(new Error('not here')),
      updatePriority: () => Promise.reject(new Error('not here')),
      describe: () => Promise.reject(new Error('not here')),
      list: async () => {
        calls++;
        if (calls > 1_000) throw new Error('runaway listing');
        env.t += 1_000; // each page takes a second
        return { jobs: [], nextToken: `t${calls}` };
      },
    };
    const c = createController({
      providers: staticRegistry({ cos: provider }),
      allowlist: parseAllowlist(''),
      retryEnv: env,
    });
    const error = await c.expand(select, { id: 'x', listBudgetMs: 10_000 }, async () => {}).catch((e) => e);
    expect(error).toBeInstanceOf(RetriesExhausted);
    expect(calls).toBeLessThanOrEqual(10);
  });

  it('streams: each page reaches the sink before the next page is listed', async () => {
    const order: string[] = [];
    const { c } = lister((n) => {
      order.push(`list ${n}`);
      return { jobs: [jobOf(2 * n), jobOf(2 * n + 1)], nextToken: n < 3 ? `t${n}` : null };
    });
    const x = await c.expand(select, { id: 'x' }, async (p) => {
      order.push(`sink ${p.map((t) => t.jobId).join(',')}`);
    });
    expect(order).toEqual(['list 1', 'sink j2,j3', 'list 2', 'sink j4,j5', 'list 3', 'sink j6,j7']);
    expect(x).toEqual({ matched: 6, selected: 6, truncated: false });
  });

  it('a policy refusal is a PolicyRefusal, not a ProviderError, and nothing is listed', async () => {
    let listed = 0;
    const denied = createController({
      providers: staticRegistry({
        cos: {
          provider: 'cos',
          list: async () => {
            listed++;
            return { jobs: [], nextToken: null };
          },
        } as unknown as JobControl,
      }),
      allowlist: parseAllowlist('oss:*'),
      retryEnv: fakeEnv(),
    });
    const e = await denied.expand(select, { id: 'x' }, async () => {}).catch((x) => x);
    expect(e).toBeInstanceOf(PolicyRefusal);
    expect(e).not.toBeInstanceOf(ProviderError);
    expect(e).toMatchObject({ code: 'TargetNotAllowed' });
    expect(classify(e)).toBe('refused');
    expect(listed).toBe(0);
  });
});

describe('the outcome module (14.4)', () => {
  const frame = {
    subject: {
      id: 'old',
      provider: 'cos',
      region: EXAMPLE_TARGETS.cos.region,
      account: null,
      jobId: 'j1',
      action: 'UpdateJobPriority',
    },
    trigger: { type: 'cli' as const },
    startedAt: '2026-11-24T01:00:00.000Z',
    finishedAt: '2026-11-24T01:00:00.000Z',
  };

  it('superseded: terminal, exit code 3, error Superseded naming the newer transition', () => {
    const o = superseded(frame, 'newer-7');
    expect(o).toMatchObject({ outcome: 'superseded', attempts: 0, error: { code: 'Superseded' } });
    expect(o.error?.message).toContain('newer-7');
    expect(isTerminal('superseded')).toBe(true);
    expect(exitCodeFor(['applied', 'superseded'])).toBe(3);
    expect(exitCodeFor(['superseded', 'failed'])).toBe(4);
  });

  it('classify: one reading of every error', () => {
    expect(classify(err('throttled', 'SlowDown', 503))).toBe('retryable');
    expect(classify(new RetriesExhausted(err('server', 'InternalError', 500), 5))).toBe('retryable');
    expect(classify(err('conflict', 'InvalidRequest'))).toBe('refused');
    expect(classify(err('config', 'MissingCredentials'))).toBe('configuration');
    expect(classify(new PolicyRefusal('Expired', 'late'))).toBe('refused');
    expect(classify(new TypeError('bug'))).toBe('configuration');
  });

  it('cutUtf8 never splits a character', () => {
    expect(cutUtf8('作业作业', 7)).toBe('作业');
    expect(Buffer.byteLength(cutUtf8('é'.repeat(5000), 8192))).toBeLessThanOrEqual(8192);
  });
});
