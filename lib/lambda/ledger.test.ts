/**
 * The ledger against a real dynalite on 127.0.0.1: verdicts once, races, the ledger down for a
 * tick, and the cost of a quiet tick (request counts, never time).
 */

import { createServer } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerTable, type LocalDynamo, startLocalDynamo } from '../../test/support/ledger';
import { jobHistory } from '../cli/history-query';
import type { Outcome } from '../core/outcome';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { createLedger, type LedgerTarget, type ObservedJob, type SettledMessage } from './ledger';
import { jobPk } from './ledger-keys';

const COS: LedgerTarget = EXAMPLE_TARGETS.cos;
const OSS: LedgerTarget = EXAMPLE_TARGETS.oss;

let local: LocalDynamo;
let tableN = 0;
async function freshTable(): Promise<string> {
  const name = `ledger-${++tableN}`;
  await createLedgerTable(local.client(), name);
  return name;
}

beforeAll(async () => {
  local = await startLocalDynamo();
});
afterAll(async () => {
  await local?.close();
});

function collector() {
  const published: SettledMessage[] = [];
  return { published, publish: async (m: SettledMessage) => void published.push(m) };
}

function outcome(jobId: string, id: string, at: string, over: Partial<Outcome> = {}): Outcome {
  return {
    id,
    provider: 'cos',
    region: COS.region,
    account: COS.account!,
    jobId,
    action: 'UpdateJobStatus',
    outcome: 'applied',
    status: 'Ready',
    priority: null,
    error: null,
    attempts: 1,
    trigger: { type: 'sqs', messageId: 'm-1' },
    startedAt: at,
    finishedAt: at,
    ...over,
  };
}

const job = (jobId: string, status: string, progress?: ObservedJob['progress']): ObservedJob => ({
  jobId,
  status,
  priority: 10,
  description: 'nightly-x',
  creationTime: '2026-12-01T00:00:00.000Z',
  progress: progress ?? null,
});

const t = (min: number) => new Date(Date.UTC(2026, 11, 6, 1, min));

describe('following a confirmed job to its verdict', () => {
  it('Ready → Active → Complete yields one settled `succeeded` with counts, times and the outcome', async () => {
    const table = await freshTable();
    const pub = collector();
    const ledger = createLedger({ client: local.client(), table, publish: pub.publish });
    const r = await ledger.recordOutcome(outcome('j1', 'nightly/j1', t(0).toISOString()), {
      appId: COS.appId,
      requestedJobStatus: 'Ready',
    });
    expect(r).toEqual({ recorded: true });

    const describeCalls: string[] = [];
    const describe = async (id: string): Promise<ObservedJob> => {
      describeCalls.push(id);
      return {
        ...job(id, 'Complete', { total: 10, succeeded: 10, failed: 0 }),
        failureReasons: [],
        report: 'cos://reports/j1/',
        terminationDate: '2026-12-06T01:03:30.000Z',
      };
    };
    await ledger.observe(COS, [job('j1', 'Ready')], t(1), { describe });
    await ledger.observe(COS, [job('j1', 'Active', { total: 10, succeeded: 3, failed: 0 })], t(2), {
      describe,
    });
    await ledger.observe(COS, [job('j1', 'Active', { total: 10, succeeded: 7, failed: 0 })], t(3), {
      describe,
    });
    const done = await ledger.observe(
      COS,
      [job('j1', 'Complete', { total: 10, succeeded: 10, failed: 0 })],
      t(4),
      {
        describe,
      },
    );
    expect(done.errors).toEqual([]);
    expect(pub.published).toHaveLength(1);
    expect(pub.published[0]).toMatchObject({
      type: 'settled',
      id: 'settled/cos#100000000001#ap-guangzhou#1250000000#j1',
      provider: 'cos',
      account: EXAMPLE_TARGETS.cos.account,
      appId: EXAMPLE_TARGETS.cos.appId,
      jobId: 'j1',
      status: 'Complete',
      verdict: 'succeeded',
      tasks: { total: 10, succeeded: 10, failed: 0 },
      failureReasons: [],
      report: 'cos://reports/j1/',
      createdAt: '2026-12-01T00:00:00.000Z',
      confirmedAt: t(0).toISOString(),
      endedAt: '2026-12-06T01:03:30.000Z',
      outcomeIds: ['nightly/j1'],
    });
    expect(describeCalls).toEqual(['j1']);

    // Settled: later ticks neither write nor publish again.
    ledger.resetCounters();
    const again = await ledger.observe(
      COS,
      [job('j1', 'Complete', { total: 10, succeeded: 10, failed: 0 })],
      t(5),
      {
        describe,
      },
    );
    expect(again.published).toEqual([]);
    expect(ledger.counters.writeRequests).toBe(0);
    expect(pub.published).toHaveLength(1);

    // The whole story in one Query, newest first: verdict, Complete, Active (progress change alone is no event), outcome.
    const story = await jobHistory(local.client(), table, COS, 'j1');
    expect(story.map((e) => [e.kind, e.detail.to ?? e.detail.verdict ?? e.detail.outcome])).toEqual([
      ['settled', 'succeeded'],
      ['status', 'Complete'],
      ['status', 'Active'],
      ['outcome', 'applied'],
    ]);
    expect(story[2]!.detail.from).toBe('Ready');
    expect(story[2]!.detail.progress).toEqual({ total: 10, succeeded: 3, failed: 0 });
    expect(story[3]!.detail).toMatchObject({
      outcomeId: 'nightly/j1',
      requestedJobStatus: 'Ready',
      trigger: 'sqs',
    });
  });

  it.each([
    ['Complete', { total: 10, succeeded: 7, failed: 3 }, 'partial'],
    ['Failed', { total: 10, succeeded: 1, failed: 9 }, 'failed'],
    ['Cancelled', { total: 10, succeeded: 2, failed: 0 }, 'cancelled'],
  ] as const)('%s with %o settles as %s', async (status, progress, verdict) => {
    const table = await freshTable();
    const pub = collector();
    const ledger = createLedger({ client: local.client(), table, publish: pub.publish });
    await ledger.recordOutcome(outcome('j2', 'o-j2', t(0).toISOString()), {
      appId: COS.appId,
      requestedJobStatus: 'Ready',
    });
    await ledger.observe(COS, [job('j2', 'Active', { total: 10, succeeded: 1, failed: 0 })], t(1));
    await ledger.observe(COS, [job('j2', status, progress)], t(2));
    await ledger.observe(COS, [job('j2', status, progress)], t(3));
    expect(pub.published.map((m) => [m.status, m.verdict, m.tasks])).toEqual([[status, verdict, progress]]);
    expect(pub.published[0]!.endedAt).toBe(t(2).toISOString());
  });

  it('a job only a policy matches is watched from its first sighting; one first seen finished is not', async () => {
    const table = await freshTable();
    const pub = collector();
    const ledger = createLedger({ client: local.client(), table, publish: pub.publish });
    const policyOf = () => 'nightly-window';
    const first = await ledger.observe(OSS, [job('p1', 'Suspended'), job('old', 'Complete')], t(0), {
      policyOf,
    });
    expect(first).toMatchObject({ watched: 1, changes: 1 });
    await ledger.observe(
      OSS,
      [job('p1', 'Complete', { total: 1, succeeded: 1, failed: 0 }), job('old', 'Complete')],
      t(1),
      {
        policyOf,
      },
    );
    expect(pub.published.map((m) => [m.jobId, m.verdict, m.policy])).toEqual([
      ['p1', 'succeeded', 'nightly-window'],
    ]);
  });
});

describe('exactly one verdict', () => {
  it('two racing observe() calls on one ledger and on two separate clients publish one verdict', async () => {
    const table = await freshTable();
    const pub = collector();
    const a = createLedger({ client: local.client(), table, publish: pub.publish });
    const b = createLedger({ client: local.client(), table, publish: pub.publish });
    const ids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    for (const id of ids)
      await a.recordOutcome(outcome(id, `o-${id}`, t(0).toISOString()), { appId: COS.appId });
    const done = ids.map((id) => job(id, 'Complete', { total: 5, succeeded: 5, failed: 0 }));
    const results = await Promise.all([
      a.observe(COS, done, t(1)),
      a.observe(COS, done, t(1)),
      b.observe(COS, done, t(2)),
      b.observe(COS, done, t(3)),
    ]);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(pub.published).toHaveLength(ids.length);
    expect(new Set(pub.published.map((m) => m.jobId)).size).toBe(ids.length);
    expect(results.reduce((n, r) => n + r.lost, 0)).toBeGreaterThan(0);
  });

  it('a publish that fails leaves the verdict pending; a tick after the lease publishes it once', async () => {
    const table = await freshTable();
    const published: SettledMessage[] = [];
    let failNext = true;
    const publish = async (m: SettledMessage) => {
      if (failNext) {
        failNext = false;
        throw new Error('results queue unavailable');
      }
      published.push(m);
    };
    let wall = t(1).getTime();
    const ledger = createLedger({
      client: local.client(),
      table,
      publish,
      leaseMs: 60_000,
      clock: () => wall,
    });
    await ledger.recordOutcome(outcome('c1', 'o-c1', t(0).toISOString()), { appId: COS.appId });
    const done = [job('c1', 'Complete', { total: 2, succeeded: 2, failed: 0 })];
    const first = await ledger.observe(COS, done, t(1));
    expect(first.errors.join()).toMatch(/results queue unavailable/);
    expect(published).toHaveLength(0);
    // Within the lease the first publisher may still be at work: no one else publishes.
    wall += 30_000;
    await ledger.observe(COS, done, t(2));
    expect(published).toHaveLength(0);
    wall += 31_000;
    const late = await ledger.observe(COS, done, t(3));
    expect(late.published).toHaveLength(1);
    await ledger.observe(COS, done, t(5));
    expect(published.map((m) => [m.jobId, m.verdict, m.settledAt])).toEqual([
      ['c1', 'succeeded', t(1).toISOString()],
    ]);
  });
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('the ledger unavailable', () => {
  it('for a tick loses nothing: the outcome is retried, the verdict comes late and once', async () => {
    const table = await freshTable();
    const pub = collector();
    let endpoint = `http://127.0.0.1:${await closedPort()}`;
    const client = new DynamoDBClient({
      endpoint: async () => ({ url: new URL(endpoint) }),
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const ledger = createLedger({ client, table, publish: pub.publish });
    const rec = await ledger.recordOutcome(outcome('d1', 'o-d1', t(0).toISOString()), {
      appId: COS.appId,
      requestedJobStatus: 'Ready',
    });
    expect(rec).toMatchObject({ recorded: false, reason: 'ledger-unavailable', backlog: 1 });
    const down = await ledger.observe(
      COS,
      [job('d1', 'Complete', { total: 4, succeeded: 3, failed: 1 })],
      t(1),
    );
    expect(down.errors.length).toBeGreaterThan(0);
    expect(pub.published).toEqual([]);

    endpoint = local.endpoint;
    const up = await ledger.observe(
      COS,
      [job('d1', 'Complete', { total: 4, succeeded: 3, failed: 1 })],
      t(2),
    );
    expect(up).toMatchObject({ backlogFlushed: 1, errors: [] });
    expect(pub.published.map((m) => [m.jobId, m.verdict, m.outcomeIds, m.confirmedAt])).toEqual([
      ['d1', 'partial', ['o-d1'], t(0).toISOString()],
    ]);
    await ledger.observe(COS, [job('d1', 'Complete', { total: 4, succeeded: 3, failed: 1 })], t(3));
    expect(pub.published).toHaveLength(1);
    expect(ledger.backlog()).toBe(0);
    client.destroy();
  });
});

describe('cost', () => {
  it('a quiet tick over 10,000 watched jobs makes no writes and at most 100 read requests', async () => {
    const table = await freshTable();
    const pub = collector();
    const ledger = createLedger({
      client: local.client(),
      table,
      publish: pub.publish,
      writeConcurrency: 32,
    });
    const jobs = Array.from({ length: 10_000 }, (_, i) =>
      job(`q-${i}`, 'Active', { total: 100, succeeded: 1, failed: 0 }),
    );
    // The first 100 become watched through the ledger itself; the rest are copies of one of those
    // META items under their own keys, written 25 at a time (10,000 single conditional writes on
    // dynalite take a minute; the bench times that path).
    const first = await ledger.observe(OSS, jobs.slice(0, 100), t(0), { policyOf: () => 'bulk' });
    expect(first).toMatchObject({ watched: 100, changes: 100, errors: [] });
    const doc = DynamoDBDocumentClient.from(local.client());
    const model = (
      await doc.send(new GetCommand({ TableName: table, Key: { pk: jobPk(OSS, 'q-0'), sk: 'META' } }))
    ).Item!;
    expect(model).toMatchObject({ status: 'Active', gsi2sk: 'OPEN#q-0', version: 1 });
    const copies = jobs.slice(100).map((j) => ({
      ...model,
      pk: jobPk(OSS, j.jobId),
      jobId: j.jobId,
      gsi2sk: `OPEN#${j.jobId}`,
      gsi1sk: `${t(0).toISOString()}#${j.jobId}`,
    }));
    for (let i = 0; i < copies.length; i += 25)
      await doc.send(
        new BatchWriteCommand({
          RequestItems: { [table]: copies.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );

    ledger.resetCounters();
    // Progress moved on every job, status on none: not a change worth a write.
    const moved = jobs.map((j) => ({ ...j, progress: { total: 100, succeeded: 50, failed: 0 } }));
    const quiet = await ledger.observe(OSS, moved, t(1), { policyOf: () => 'bulk' });
    expect(quiet).toMatchObject({ watched: 10_000, changes: 0, errors: [] });
    expect(ledger.counters.writeRequests).toBe(0);
    expect(ledger.counters.readRequests).toBeLessThanOrEqual(100);
    expect(ledger.counters.readRequests).toBeGreaterThan(0);
    // The same jobs given as DescribeJob answers (read by key, 100 a request): still no writes.
    ledger.resetCounters();
    const byKey = await ledger.observe(OSS, moved, t(2), { sweep: false });
    expect(byKey).toMatchObject({ watched: 10_000, changes: 0, errors: [] });
    expect(ledger.counters).toMatchObject({ writeRequests: 0, readRequests: 100 });
  }, 120_000);
});

describe('jobs outside the policies and jobs that disappear', () => {
  it('watchedOutside finds unsettled watched jobs of other targets; closeJob closes one and says why', async () => {
    const table = await freshTable();
    const pub = collector();
    const ledger = createLedger({ client: local.client(), table, publish: pub.publish });
    await ledger.recordOutcome(outcome('w1', 'o-w1', t(0).toISOString()), { appId: COS.appId });
    await ledger.recordOutcome(outcome('w2', 'o-w2', t(0).toISOString()), { appId: COS.appId });
    expect((await ledger.watchedOutside([OSS])).map((w) => w.jobId).sort()).toEqual(['w1', 'w2']);
    expect(await ledger.watchedOutside([OSS, COS])).toEqual([]);

    await ledger.observe(COS, [job('w1', 'Cancelled')], t(1));
    expect(await ledger.closeJob(COS, 'w2', 'NoSuchJob', t(2))).toBe(true);
    expect(await ledger.closeJob(COS, 'w2', 'NoSuchJob', t(3))).toBe(false);
    expect(await ledger.watchedOutside([OSS])).toEqual([]);
    const story = await jobHistory(local.client(), table, COS, 'w2');
    expect(story[0]).toMatchObject({
      kind: 'closed',
      at: t(2).toISOString(),
      detail: { reason: 'NoSuchJob' },
    });
    expect(pub.published.map((m) => m.jobId)).toEqual(['w1']);
  });
});

describe('what starts watching a job', () => {
  it('a refusal is recorded on the history but does not follow the job; a job listed twice is read once', async () => {
    const table = await freshTable();
    const pub = collector();
    const ledger = createLedger({ client: local.client(), table, publish: pub.publish });
    const refused = outcome('r1', 'o-r1', t(0).toISOString(), {
      outcome: 'rejected',
      status: null,
      error: { code: 'TargetNotAllowed', message: 'not allowed', httpStatus: null, requestId: null },
    });
    expect(await ledger.recordOutcome(refused, { appId: COS.appId })).toEqual({ recorded: true });
    expect(await ledger.watchedOutside([])).toEqual([]);
    const story = await jobHistory(local.client(), table, COS, 'r1');
    expect(story.map((e) => [e.kind, e.detail.outcome, (e.detail.error as { code: string }).code])).toEqual([
      ['outcome', 'rejected', 'TargetNotAllowed'],
    ]);
    const r = await ledger.observe(COS, [job('r1', 'Complete'), job('r1', 'Complete')], t(1));
    expect(r).toMatchObject({ watched: 0, errors: [] });

    await ledger.recordOutcome(outcome('r2', 'o-r2', t(0).toISOString()), { appId: COS.appId });
    const twice = await ledger.observe(COS, [job('r2', 'Active'), job('r2', 'Complete')], t(2));
    expect(twice).toMatchObject({ watched: 1, changes: 1, errors: [] });
    expect(pub.published.map((m) => m.jobId)).toEqual(['r2']);
  });

  it('outcome records are idempotent by outcome id: a retried record adds nothing', async () => {
    const table = await freshTable();
    const ledger = createLedger({ client: local.client(), table, publish: async () => {} });
    const o = outcome('i1', 'o-i1', t(0).toISOString());
    await ledger.recordOutcome(o, { appId: COS.appId });
    await ledger.recordOutcome(o, { appId: COS.appId });
    const story = await jobHistory(local.client(), table, COS, 'i1');
    expect(story).toHaveLength(1);
    const pub = collector();
    const l2 = createLedger({ client: local.client(), table, publish: pub.publish });
    await l2.observe(COS, [job('i1', 'Failed')], t(1));
    expect(pub.published[0]!.outcomeIds).toEqual(['o-i1']);
  });
});

describe('a sweep of live statuses', () => {
  it('reports a watched job it no longer lists as missing; its DescribeJob settles it, or NoSuchJob closes it', async () => {
    const table = await freshTable();
    const pub = collector();
    const ledger = createLedger({ client: local.client(), table, publish: pub.publish });
    for (const id of ['m1', 'm2', 'm3'])
      await ledger.recordOutcome(outcome(id, `o-${id}`, t(0).toISOString()), { appId: COS.appId });
    const first = await ledger.observe(
      COS,
      [job('m1', 'Active'), job('m2', 'Active'), job('m3', 'Active')],
      t(1),
    );
    expect(first).toMatchObject({ changes: 3, missing: [] });
    // m1 finished and m2 was deleted: a sweep of live statuses lists only m3.
    const sweep = await ledger.observe(COS, [job('m3', 'Active')], t(2));
    expect(sweep.missing.map((m) => [m.jobId, m.status]).sort()).toEqual([
      ['m1', 'Active'],
      ['m2', 'Active'],
    ]);
    expect(ledger.counters.writeRequests).toBeGreaterThan(0);
    ledger.resetCounters();
    const described = await ledger.observe(
      COS,
      [
        {
          ...job('m1', 'Complete', { total: 3, succeeded: 3, failed: 0 }),
          terminationDate: '2026-12-06T01:01:59.000Z',
        },
      ],
      t(3),
      { sweep: false },
    );
    expect(described.published.map((m) => [m.jobId, m.verdict, m.endedAt])).toEqual([
      ['m1', 'succeeded', '2026-12-06T01:01:59.000Z'],
    ]);
    expect(await ledger.closeJob(COS, 'm2', 'NoSuchJob', t(3))).toBe(true);
    const after = await ledger.observe(COS, [job('m3', 'Active')], t(4));
    expect(after).toMatchObject({ missing: [], changes: 0, published: [] });
    expect(pub.published).toHaveLength(1);
  });
});

describe('META and history are written apart (dynalite has no transactions)', () => {
  it('an event lost between the two writes shows from META meanwhile and is written again at the next change', async () => {
    const table = await freshTable();
    const pub = collector();
    const ledger = createLedger({ client: local.client(), table, publish: pub.publish });
    await ledger.recordOutcome(outcome('x1', 'o-x1', t(0).toISOString()), { appId: COS.appId });
    await ledger.observe(COS, [job('x1', 'Active', { total: 5, succeeded: 1, failed: 0 })], t(1));
    // As if the process had stopped after its META write: the status event never reached the table.
    const doc = DynamoDBDocumentClient.from(local.client());
    const lost = (await jobHistory(doc, table, COS, 'x1')).find((e) => e.kind === 'status')!;
    expect(lost.detail.to).toBe('Active');
    const pk = jobPk(COS, 'x1');
    const stored = await doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
        ExpressionAttributeValues: { ':pk': pk, ':ev': `EV#${t(1).toISOString()}#status` },
      }),
    );
    expect(stored.Items).toHaveLength(1);
    await doc.send(new DeleteCommand({ TableName: table, Key: { pk, sk: stored.Items![0]!.sk } }));

    const meanwhile = await jobHistory(doc, table, COS, 'x1');
    expect(meanwhile.map((e) => [e.kind, e.detail.to ?? e.detail.outcome])).toEqual([
      ['status', 'Active'],
      ['outcome', 'applied'],
    ]);
    await ledger.observe(COS, [job('x1', 'Complete', { total: 5, succeeded: 5, failed: 0 })], t(2));
    const again = await doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
        ExpressionAttributeValues: { ':pk': pk, ':ev': 'EV#' },
      }),
    );
    expect(again.Items!.map((i) => [i.kind, i.to ?? i.verdict ?? i.outcome])).toEqual([
      ['outcome', 'applied'],
      ['status', 'Active'],
      // Same instant: key order puts `settled` before `status`; history reads rank them.
      ['settled', 'succeeded'],
      ['status', 'Complete'],
    ]);
    expect(pub.published).toHaveLength(1);
  });
});
