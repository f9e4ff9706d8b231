/**
 * The allowlist (`JOBCTL_ALLOWED_TARGETS`), end to end through the real functions on fauxqs and the
 * sandbox: a transition outside it is `rejected` with `TargetNotAllowed` and not one request is
 * sent — for each provider, for both actions, for `select` messages (which list nothing) and for
 * schedules. Each refused message aims at a real job, so a request that slipped through would show
 * in the job table as well as in the request counts. `JOBCTL_REQUIRE_ALLOWLIST=true` refuses to
 * build a runtime without one.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../lib/core/outcome';
import type { ScheduleHandler } from '../../lib/lambda/handlers';
import { type FanoutReport, isFanout } from '../../lib/lambda/publisher';
import { createRuntime, readConfig } from '../../lib/lambda/runtime';
import { generateJobs } from '../../lib/local/sandbox/seed';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import type { ProviderName } from '../../lib/providers/types';
import { context, depth, drain, drainResults, type Stack } from '../support/harness';
import {
  hostOf,
  installRuntime,
  invoke,
  recordRequests,
  startReliabilityStack,
  TARGETS,
} from '../support/reliability';

const PROVIDERS: ProviderName[] = ['cos', 'oss', 's3'];
const ALLOWED = 'cos:100000000001@ap-guangzhou,oss:*@cn-hangzhou,s3:123456789012@us-east-1';

const seed = PROVIDERS.flatMap((p, i) =>
  generateJobs(6, { ...TARGETS[p], seed: 700 + i, description: 'nightly-allow-' }),
);
const jobs = Object.fromEntries(
  PROVIDERS.map((p) => [p, seed.filter((j) => j.provider === p).map((j) => j.jobId!)]),
) as Record<ProviderName, string[]>;

const ready = (p: ProviderName, jobId: string, extra: Record<string, unknown> = {}) => ({
  id: `allow-${p}-${Object.values(extra).join('-') || 'in'}`,
  ...TARGETS[p],
  jobId,
  action: 'UpdateJobStatus',
  requestedJobStatus: 'Ready',
  ...extra,
});
const priority = (p: ProviderName, jobId: string, extra: Record<string, unknown> = {}) => {
  const { requestedJobStatus: _, ...rest } = ready(p, jobId, extra);
  return { ...rest, id: `${rest.id}-priority`, action: 'UpdateJobPriority', priority: 77 };
};

/**
 * Targets outside ALLOWED that still reach a seeded job if a request were sent: the sandbox keys
 * COS jobs by appId and OSS jobs by the signature's region, so another COS UIN or an OSS account
 * lands on the same job; for S3 the account is the namespace, so only the counts can tell.
 */
const OUTSIDE: Record<ProviderName, Record<string, unknown>[]> = {
  cos: [{ account: '200000000002' }, { region: 'ap-beijing' }],
  oss: [{ region: 'cn-shanghai' }],
  s3: [{ account: '999999999999' }, { region: 'eu-west-1' }],
};

let stack: Stack;
const scheduleHandler: ScheduleHandler = (event, ctx) => stack!.handlers.schedule(event, ctx);
let recorder: ReturnType<typeof recordRequests>;
let queueHost: string;

beforeAll(async () => {
  // The allowlist, not the state: cases reuse transition ids across runtimes on purpose.
  stack = await startReliabilityStack({
    sandbox: { seed },
    env: { JOBCTL_ALLOWED_TARGETS: ALLOWED },
    state: false,
  });
  installRuntime(stack);
  queueHost = hostOf(stack.env.AWS_ENDPOINT_URL_SQS!);
  recorder = recordRequests();
});
afterAll(async () => {
  recorder?.stop();
  await stack?.close();
});

const providerRequests = (from: number) => recorder.sent.slice(from).filter((r) => r.host !== queueHost);
const storeJob = (p: ProviderName, jobId: string) => {
  const t = TARGETS[p] as { appId?: string; account?: string; region: string };
  const namespace = p === 'cos' ? t.appId! : p === 's3' ? t.account! : t.region;
  return stack.sandbox.store.get({ provider: p, namespace }, jobId)!;
};

describe('a transition outside JOBCTL_ALLOWED_TARGETS', () => {
  it.each(
    PROVIDERS.flatMap((p) =>
      OUTSIDE[p].flatMap((extra) => [
        { p, what: `Ready at ${JSON.stringify(extra)}`, body: ready(p, jobs[p][0]!, extra) },
        { p, what: `priority at ${JSON.stringify(extra)}`, body: priority(p, jobs[p][0]!, extra) },
      ]),
    ),
  )('$p: $what is rejected with TargetNotAllowed and sends nothing', async ({ p, body }) => {
    const from = recorder.sent.length;
    const r = await invoke(stack, [body]);
    expect(r.response.batchItemFailures).toEqual([]);
    const [o, ...more] = r.byMessage.get(r.messageIds[0]!) ?? [];
    expect(more).toEqual([]);
    expect(o).toMatchObject({
      id: body.id,
      outcome: 'rejected',
      attempts: 0,
      error: { code: 'TargetNotAllowed', httpStatus: null },
    });
    expect(o!.error!.message).toContain('JOBCTL_ALLOWED_TARGETS');
    expect(r.requests, 'the sandbox saw no request').toBe(0);
    expect(providerRequests(from), 'no provider request was started').toEqual([]);
    expect(storeJob(p, jobs[p][0]!)).toMatchObject({ status: 'Suspended', priority: 10 });
  });

  it.each(PROVIDERS)(
    '%s: the same transition inside the allowlist is applied (the counts can move)',
    async (p) => {
      const r = await invoke(stack, [ready(p, jobs[p][1]!), priority(p, jobs[p][1]!)]);
      expect(r.response.batchItemFailures).toEqual([]);
      expect([...r.byMessage.values()].flat().map((o) => o.outcome)).toEqual(['applied', 'applied']);
      expect(r.requests).toBeGreaterThanOrEqual(2);
      expect(storeJob(p, jobs[p][1]!)).toMatchObject({ status: 'Ready', priority: 77 });
    },
  );

  it('a provider missing from the list is refused too', async () => {
    installRuntime(stack, { env: { JOBCTL_ALLOWED_TARGETS: 'cos:*' } });
    try {
      const r = await invoke(stack, [ready('oss', jobs.oss[2]!), ready('s3', jobs.s3[2]!)]);
      expect([...r.byMessage.values()].flat().map((o) => o.error?.code)).toEqual([
        'TargetNotAllowed',
        'TargetNotAllowed',
      ]);
      expect(r.requests).toBe(0);
    } finally {
      installRuntime(stack);
    }
  });
});

describe('a select outside the allowlist lists nothing', () => {
  const select = (p: ProviderName, extra: Record<string, unknown>) => {
    const { jobId: _, ...rest } = ready(p, 'unused', extra);
    return {
      ...rest,
      id: `select-${p}`,
      select: { statuses: ['Suspended'], descriptionPrefix: 'nightly-allow-' },
    };
  };

  it.each(PROVIDERS)(
    '%s: no ListJobs, nothing enqueued, the fan-out report says TargetNotAllowed',
    async (p) => {
      const from = recorder.sent.length;
      const r = await invoke(stack, [select(p, OUTSIDE[p][0]!)]);
      expect(r.requests).toBe(0);
      expect(providerRequests(from)).toEqual([]);
      const reports = r.records.filter(isFanout);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({
        id: `select-${p}`,
        matched: 0,
        enqueued: 0,
        error: { code: 'TargetNotAllowed' },
      });
      expect(await depth(stack.sqs, stack.queues.requestsQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
    },
  );

  // Regression: a select refused for good (TargetNotAllowed, Expired) used to fail its record, so
  // SQS redelivered it until the DLQ, publishing another fan-out report each time.
  it('and its message is not retried', async () => {
    const r = await invoke(stack, [select('cos', OUTSIDE.cos[0]!)]);
    expect(r.response.batchItemFailures).toEqual([]);
  });

  it('the same select inside the allowlist does list and enqueue (the counts can move)', async () => {
    const r = await invoke(stack, [select('cos', {})]);
    expect(r.requests).toBeGreaterThan(0);
    expect(r.records.filter(isFanout)[0]).toMatchObject({ error: null });
    expect((r.records.filter(isFanout)[0] as FanoutReport).enqueued).toBeGreaterThan(0);
    await drain(stack.sqs, stack.queues.requestsQueueUrl);
  });
});

describe('schedules', () => {
  it('a schedule whose select is outside the allowlist lists nothing and enqueues nothing', async () => {
    const from = recorder.sent.length;
    const before = stack.sandbox.stats().requests;
    const { jobId: _, ...rest } = ready('s3', 'unused', OUTSIDE.s3[0]!);
    // Whether the invocation then fails (so the scheduler retries) is not this test's business.
    await scheduleHandler(
      {
        schedule: 'allow-select',
        fireTime: '2026-11-24T17:00:00Z',
        transitions: [{ ...rest, select: { statuses: ['Suspended'] } }],
      },
      context(),
    ).catch(() => undefined);
    expect(stack.sandbox.stats().requests - before).toBe(0);
    expect(providerRequests(from)).toEqual([]);
    const reports = (await drainResults(stack)).filter(isFanout);
    expect(reports.map((r) => r.error?.code)).toEqual(['TargetNotAllowed']);
    expect(await depth(stack.sqs, stack.queues.requestsQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('fixed transitions of a schedule outside the allowlist are rejected when handled, and send nothing', async () => {
    const targets = PROVIDERS.map((p) => ({ p, body: ready(p, jobs[p][3]!, OUTSIDE[p][0]!) }));
    const from = recorder.sent.length;
    const before = stack.sandbox.stats().requests;
    const result = await scheduleHandler(
      { schedule: 'allow-fixed', fireTime: '2026-11-24T18:00:00Z', transitions: targets.map((t) => t.body) },
      context(),
    );
    expect(result).toMatchObject({ enqueued: 3, failed: 0, invalid: 0 });
    const queued = await drain(stack.sqs, stack.queues.requestsQueueUrl);
    const r = await invoke(stack, queued);
    expect(r.response.batchItemFailures).toEqual([]);
    const outcomes: Outcome[] = [...r.byMessage.values()].flat();
    expect(outcomes.map((o) => [o.provider, o.outcome, o.error?.code]).sort()).toEqual(
      PROVIDERS.map((p) => [p, 'rejected', 'TargetNotAllowed']),
    );
    expect(stack.sandbox.stats().requests - before).toBe(0);
    expect(providerRequests(from)).toEqual([]);
    for (const { p } of targets) expect(storeJob(p, jobs[p][3]!).status).toBe('Suspended');
  });
});

describe('JOBCTL_REQUIRE_ALLOWLIST', () => {
  const base = {
    RESULTS_QUEUE_URL: 'http://127.0.0.1:1/000000000000/results',
    JOBCTL_REQUIRE_ALLOWLIST: 'true',
  };

  it.each([
    ['unset', {}],
    ['empty', { JOBCTL_ALLOWED_TARGETS: '' }],
    ['blank', { JOBCTL_ALLOWED_TARGETS: '   ' }],
  ])('without an allowlist (%s) the runtime is refused', (_name, extra) => {
    expect(() => readConfig({ ...base, ...extra })).toThrow(/JOBCTL_ALLOWED_TARGETS must be set/);
    expect(() => createRuntime({ ...base, ...extra })).toThrow(/JOBCTL_ALLOWED_TARGETS/);
  });

  it('with one, the runtime is built and enforces it', () => {
    const c = readConfig({ ...base, JOBCTL_ALLOWED_TARGETS: ALLOWED });
    expect(
      c.allowlist.allows({
        provider: 'cos',
        region: EXAMPLE_TARGETS.cos.region,
        account: EXAMPLE_TARGETS.cos.account,
      }),
    ).toBe(true);
    expect(
      c.allowlist.allows({ provider: 'cos', region: EXAMPLE_TARGETS.cos.region, account: '200000000002' }),
    ).toBe(false);
  });

  it('a list of only separators allows nothing (fails closed)', () => {
    const c = readConfig({ ...base, JOBCTL_ALLOWED_TARGETS: ' , ' });
    for (const p of PROVIDERS) expect(c.allowlist.allows({ ...TARGETS[p] })).toBe(false);
  });

  it('a malformed pattern refuses to start rather than guess', () => {
    expect(() => readConfig({ ...base, JOBCTL_ALLOWED_TARGETS: 'cos:100000000001,cos:acct-name' })).toThrow(
      /"cos:acct-name" is not provider:account\[@region\]/,
    );
  });

  it('without JOBCTL_REQUIRE_ALLOWLIST, no allowlist means every target is allowed (local use)', () => {
    const c = readConfig({ RESULTS_QUEUE_URL: base.RESULTS_QUEUE_URL });
    for (const p of PROVIDERS) expect(c.allowlist.allows({ ...TARGETS[p] })).toBe(true);
  });
});
