/**
 * The ledger in the reconcile tick, on the real parts: functions/reconcile.ts and
 * functions/transitions.ts against fauxqs queues, the sandbox over 127.0.0.1 (lifecycle on a test
 * clock) and the local DynamoDB (dynalite, the table from serverless.yml). Jobs are followed to
 * their end and each yields exactly one `settled` message.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { createReconcileHandler } from '../functions/reconcile';
import type { Outcome } from '../lib/core/outcome';
import { type Policy, parsePolicies } from '../lib/core/policies';
import { createLedger, type Ledger, type SettledMessage } from '../lib/lambda/ledger';
import type { ReconcileReport } from '../lib/lambda/reconcile';
import type { Runtime } from '../lib/lambda/runtime';
import { LOCAL_CREDENTIALS } from '../lib/local/dynamo';
import type { SeedJob } from '../lib/local/sandbox/types';
import { startTicker, tickerLine } from '../lib/local/ticker';
import { context, drain, eventually, type Stack, sqsEvent, startStack } from './support/harness';
import { cli } from './support/io';

const COS = {
  provider: 'cos',
  region: 'ap-guangzhou',
  account: '100000000001',
  appId: '1250000000',
} as const;
const SCOPE = { provider: 'cos' as const, namespace: COS.appId };
const TARGET_FLAGS = [
  '--provider',
  'cos',
  '--region',
  COS.region,
  '--account',
  COS.account,
  '--app-id',
  COS.appId,
];
const MIN = 60_000;
/** Ahead of the wall clock, so notAfter never lapses while the test runs. */
const B = Math.ceil(Date.now() / 3600_000) * 3600_000 + 24 * 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const id = (n: number) => `cccccccc-0000-4000-8000-00000000000${n}`;

const POLICIES = `policies:
  - name: go
    target: { provider: cos, region: ap-guangzhou, account: '100000000001', appId: '1250000000' }
    match: { descriptionPrefix: go- }
    confirm: always
  - name: hold
    target: { provider: cos, region: ap-guangzhou, account: '100000000001', appId: '1250000000' }
    match: { descriptionPrefix: hold- }
    confirm: never
`;
function policies(text = POLICIES): Policy[] {
  const r = parsePolicies(text);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.policies;
}

let stack: Stack | undefined;
let clock = B;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const seed = (n: number, description: string, over: Record<string, unknown> = {}) => ({
  ...COS,
  jobId: id(n),
  status: 'Suspended' as const,
  description,
  creationTime: iso(B - 60 * MIN),
  totalTasks: 1000,
  ...over,
});

interface Parts {
  s: Stack;
  ledger: Ledger;
  client: (maxAttempts?: number) => DynamoDBClient;
  table: string;
  env: NodeJS.ProcessEnv;
}

async function start(seeds: SeedJob[], suspendedTimeoutMs?: number): Promise<Parts> {
  clock = B;
  // The stack's own local DynamoDB (lib/local/stack.ts, as `jobctl run` starts it) and its ledger.
  const s = await startStack({
    sandbox: {
      seed: seeds,
      pace: { stepMs: MIN },
      now: () => clock,
      ...(suspendedTimeoutMs ? { suspendedTimeoutMs } : {}),
    },
  });
  stack = s;
  const endpoint = s.env.AWS_ENDPOINT_URL_DYNAMODB!;
  const table = s.env.JOBCTL_TABLE!;
  const client = (maxAttempts = 3) =>
    new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts });
  expect(s.runtime.ledger).not.toBeNull();
  const env = { ...s.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
  return { s, ledger: s.runtime.ledger!, client, table, env };
}

const ledgerOn = (s: Stack, client: DynamoDBClient, table: string) =>
  createLedger({ client, table, publish: (m) => s.runtime.publisher.publish(m) });

/** The real reconcile handler on a runtime that has this ledger. */
async function tick(p: Parts, at: number, ledger: Ledger = p.ledger): Promise<ReconcileReport> {
  const rt = { ...p.s.runtime, ledger } as Runtime;
  return createReconcileHandler(rt, policies(), p.s.env)({ tickTime: iso(at) }, context());
}

/** The requests queue through the transitions handler, which records each outcome in the ledger. */
async function apply(p: Parts): Promise<Outcome[]> {
  const bodies = await drain(p.s.sqs, p.s.queues.requestsQueueUrl);
  if (bodies.length > 0) {
    const r = await p.s.handlers.transitions(sqsEvent(bodies), context());
    expect(r.batchItemFailures).toEqual([]);
  }
  const out: Outcome[] = [];
  for (const b of await results(p)) if (!('type' in b)) out.push(b as unknown as Outcome);
  return out;
}

let held: Record<string, unknown>[] = [];
/** Everything on the results queue so far (kept across calls). */
async function results(p: Parts): Promise<Record<string, unknown>[]> {
  const fresh = (await drain(p.s.sqs, p.s.queues.resultsQueueUrl)).map((b) => JSON.parse(b));
  held.push(...fresh);
  return fresh;
}
const settled = () => held.filter((m) => m.type === 'settled') as unknown as SettledMessage[];
const job = (p: Parts, n: number) => p.s.sandbox.store.get(SCOPE, id(n))!;

/** Move the test clock in steps, so the sandbox's lifecycle runs every step. */
function advance(p: Parts, minutes: number) {
  for (let i = 0; i < minutes; i++) {
    clock += MIN;
    p.s.sandbox.store.advance(clock);
  }
}

describe('the ledger in the reconcile tick, on the real parts', () => {
  afterEach(() => {
    held = [];
  });

  it('a job confirmed by a transition is followed Ready → Active → Complete: one settled, succeeded, with counts; history tells the story', async () => {
    const p = await start([seed(1, 'go-1')]);
    const first = await tick(p, clock);
    expect(first.enqueued).toBe(1);
    expect(first.ledger).toMatchObject({ ok: true, watched: 1, changes: 1, settled: 0 });
    const outcomes = await apply(p);
    expect(outcomes.map((o) => [o.jobId, o.outcome])).toEqual([[id(1), 'applied']]);
    expect(job(p, 1).status).toBe('Ready');

    await tick(p, clock);
    advance(p, 1);
    expect(job(p, 1).status).toBe('Active');
    const active = await tick(p, clock);
    expect(active.ledger).toMatchObject({ ok: true, changes: 1, settled: 0 });
    // Nothing changed: no write at all.
    const quiet = await tick(p, clock);
    expect(quiet.ledger).toMatchObject({ ok: true, changes: 0, writeRequests: 0 });

    advance(p, 10);
    expect(job(p, 1).status).toBe('Complete');
    const done = await tick(p, clock);
    expect(done.ledger).toMatchObject({ ok: true, settled: 1 });
    await tick(p, clock + MIN);
    await results(p);
    expect(settled()).toHaveLength(1);
    const m = settled()[0]!;
    expect(m).toMatchObject({
      type: 'settled',
      id: `settled/cos#${COS.account}#${COS.region}#${COS.appId}#${id(1)}`,
      jobId: id(1),
      provider: 'cos',
      status: 'Complete',
      verdict: 'succeeded',
      tasks: { total: 1000, succeeded: 1000, failed: 0 },
      policy: 'go',
      failureReasons: [],
    });
    expect(m.outcomeIds).toEqual([outcomes[0]!.id]);
    expect(m.confirmedAt).not.toBeNull();

    // The whole story of the job, newest first: verdict, status changes, the transition.
    const h = await cli(['history', '--job', id(1), ...TARGET_FLAGS, '--json'], { env: p.env });
    expect(h.stderr).toBe('');
    expect(h.code).toBe(0);
    const kinds = h.json<{ kind: string; to?: string; verdict?: string }>().map((e) => e.kind);
    expect(kinds).toContain('settled');
    expect(kinds).toContain('outcome');
    const tos = h
      .json<{ kind: string; detail: { to?: string } }>()
      .filter((e) => e.kind === 'status')
      .map((e) => e.detail.to);
    for (const st of ['Ready', 'Active', 'Complete']) expect(tos).toContain(st);
    const text = await cli(['history', '--job', id(1), ...TARGET_FLAGS], { env: p.env, tty: true });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/succeeded/);
    expect(text.stdout).toMatch(/Complete/);
  });

  it('partial (Complete with failed tasks), failed (with the provider reasons) and cancelled, one settled each', async () => {
    const p = await start(
      [seed(1, 'go-partial', { tasksFailed: 10 }), seed(2, 'hold-fails'), seed(3, 'hold-cancel')],
      30 * MIN,
    );
    await tick(p, clock);
    await apply(p);
    expect(p.s.sandbox.store.updateStatus(SCOPE, id(3), 'Cancelled', 'operator').ok).toBe(true);
    for (let i = 0; i < 4; i++) {
      advance(p, 10);
      await tick(p, clock);
    }
    await results(p);
    expect(job(p, 1).status).toBe('Complete');
    expect(job(p, 2).status).toBe('Failed');
    expect(job(p, 3).status).toBe('Cancelled');
    const byJob = new Map(settled().map((m) => [m.jobId, m]));
    expect(settled()).toHaveLength(3);
    expect(byJob.get(id(1))).toMatchObject({ verdict: 'partial', status: 'Complete', tasks: { failed: 10 } });
    expect(byJob.get(id(2))).toMatchObject({ verdict: 'failed', status: 'Failed', policy: 'hold' });
    expect(byJob.get(id(2))!.failureReasons.map((f) => f.code)).toEqual(['SuspendedTimeout']);
    expect(byJob.get(id(3))).toMatchObject({ verdict: 'cancelled', status: 'Cancelled' });
  });

  it('a job transitioned on a target no policy names is followed by DescribeJob (bounded per tick); a watched job that vanishes is closed', async () => {
    const BEIJING = { ...COS, region: 'ap-beijing' };
    const p = await start([{ ...seed(1, 'other-1'), ...BEIJING }, seed(2, 'hold-2')]);
    // An operator's own transition on ap-beijing, through the real transitions handler.
    const t = {
      id: 'manual/1',
      ...BEIJING,
      jobId: id(1),
      action: 'UpdateJobStatus',
      requestedJobStatus: 'Ready',
      statusUpdateReason: 'go',
    };
    const r = await p.s.handlers.transitions(sqsEvent([t]), context());
    expect(r.batchItemFailures).toEqual([]);
    expect((await results(p)).map((o) => o.outcome)).toEqual(['applied']);
    await tick(p, clock); // watches hold-2 (the policy) on ap-guangzhou

    // The one watched job outside the policies' targets: described, not listed.
    advance(p, 1);
    const described = await tick(p, clock);
    expect(described.ledger).toMatchObject({ ok: true, described: 1, deferred: 0, changes: 1 });
    // With no DescribeJob allowed this tick, it waits (and says so) rather than being guessed about.
    advance(p, 10);
    const rt = { ...p.s.runtime, ledger: p.ledger } as Runtime;
    const none = await createReconcileHandler(rt, policies(), {
      ...p.s.env,
      JOBCTL_RECONCILE_DESCRIBE_MAX: '0',
    })({ tickTime: iso(clock) }, context());
    expect(none.ledger).toMatchObject({ described: 0, deferred: 1, settled: 0 });
    const done = await tick(p, clock);
    expect(done.ledger).toMatchObject({ described: 1, settled: 1 });

    // hold-2 is deleted by the provider (the 90-day purge, or an operator): closed, no verdict.
    const snap = p.s.sandbox.store.snapshot();
    p.s.sandbox.store.restore({ ...snap, jobs: snap.jobs.filter((j) => j.jobId !== id(2)) });
    const gone = await tick(p, clock);
    expect(gone.ledger).toMatchObject({ ok: true, closed: 1, settled: 0 });
    await tick(p, clock + MIN);
    await results(p);
    expect(settled().map((m) => [m.jobId, m.region, m.verdict])).toEqual([
      [id(1), 'ap-beijing', 'succeeded'],
    ]);
    const h = await cli(['history', '--job', id(2), ...TARGET_FLAGS, '--json'], { env: p.env });
    expect(h.json<{ kind: string }>().map((e) => e.kind)).toContain('closed');
  });

  it('with no policies at all a tick still follows the watched jobs', async () => {
    const p = await start([seed(1, 'go-1')]);
    await tick(p, clock); // confirmed through the queue: watched from its outcome
    await apply(p);
    advance(p, 10);
    const rt = { ...p.s.runtime, ledger: p.ledger } as Runtime;
    const r = await createReconcileHandler(rt, [], p.s.env)({ tickTime: iso(clock) }, context());
    expect(r.policies).toEqual([]);
    expect(r.ledger).toMatchObject({ ok: true, described: 1, settled: 1, verdicts: { succeeded: 1 } });
    await results(p);
    expect(settled().map((m) => [m.jobId, m.verdict])).toEqual([[id(1), 'succeeded']]);
  });

  it('two racing ticks publish one verdict', async () => {
    const p = await start([seed(1, 'hold-1')]);
    await tick(p, clock);
    expect(p.s.sandbox.store.updateStatus(SCOPE, id(1), 'Cancelled', 'operator').ok).toBe(true);
    advance(p, 2);
    const other = ledgerOn(p.s, p.client(), p.table);
    const [a, b] = await Promise.all([tick(p, clock), tick(p, clock, other)]);
    await results(p);
    expect(settled()).toHaveLength(1);
    expect((a.ledger?.settled ?? 0) + (b.ledger?.settled ?? 0)).toBe(1);
    await tick(p, clock + MIN);
    await results(p);
    expect(settled()).toHaveLength(1);
  });

  it('the ledger down for a tick loses nothing: transitions still enqueued, the report says so, the verdict comes once later', async () => {
    const p = await start([seed(1, 'hold-1'), seed(2, 'go-2')]);
    await tick(p, clock);
    expect(p.s.sandbox.store.updateStatus(SCOPE, id(1), 'Cancelled', 'operator').ok).toBe(true);
    advance(p, 2);
    const down = createLedger({
      client: new DynamoDBClient({
        endpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
      }),
      table: p.table,
      publish: (m) => p.s.runtime.publisher.publish(m),
    });
    const r = await tick(p, clock, down);
    // go-2's confirm (not applied yet) is enqueued again, ledger or no ledger.
    expect(r.enqueued).toBe(1);
    expect(r.ledger).toMatchObject({ ok: false, settled: 0 });
    expect(r.ledger!.errors.length).toBeGreaterThan(0);
    await results(p);
    expect(settled()).toHaveLength(0);

    const later = await tick(p, clock + MIN);
    expect(later.ledger).toMatchObject({ ok: true, settled: 1 });
    await tick(p, clock + 2 * MIN);
    await results(p);
    expect(settled().map((m) => [m.jobId, m.verdict])).toEqual([[id(1), 'cancelled']]);
  });
});

describe("jobctl run's ticker (lib/local/ticker.ts) on the real reconcile handler", () => {
  afterEach(() => {
    held = [];
  });

  it('ticks on its period, one tick at a time; the last tick (actions, holds) and the verdicts show in its line', async () => {
    const p = await start([seed(1, 'go-1'), seed(2, 'hold-2')]);
    const rt = { ...p.s.runtime, ledger: p.ledger } as Runtime;
    const handler = createReconcileHandler(rt, policies(), p.s.env);
    let ticks = 0;
    const t = startTicker({
      periodMs: 20,
      handler: (e, c) => {
        ticks++;
        return handler(e, c);
      },
      context,
      now: () => clock,
    });
    try {
      expect(tickerLine(t)).toMatch(/^tick {3}every 0 s, first at .* · verdicts 0$/);
      // The test clock stands still: the timer fires when the period has passed on it.
      clock += 20;
      await eventually(async () => (t.ticks >= 1 ? true : undefined), 50, 20);
      expect(t.last).toMatchObject({ actions: 1, enqueued: 1, holds: 1, unlisted: [], ledgerOk: true });
      expect(tickerLine(t)).toMatch(/actions 1 \(1 enqueued\) · holds 1 · verdicts 0$/);

      expect(p.s.sandbox.store.updateStatus(SCOPE, id(2), 'Cancelled', 'operator').ok).toBe(true);
      advance(p, 2);
      await t.tickNow();
      expect(t.verdicts).toEqual({ succeeded: 0, partial: 0, failed: 0, cancelled: 1 });
      expect(tickerLine(t)).toMatch(/verdicts cancelled 1$/);
    } finally {
      await t.stop();
    }
    const after = ticks;
    clock += 1000;
    await new Promise((r) => setTimeout(r, 60));
    expect(ticks).toBe(after);
  });
});
