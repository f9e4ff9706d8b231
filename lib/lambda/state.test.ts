/**
 * The state store against a real DynamoDB wire (dynalite, started by lib/local/dynamo.ts with the
 * table serverless.yml declares): idempotent transitions, per-job ordering with its lease, and a
 * store that cannot answer.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, type LocalDynamo, startLocalDynamo } from '../local/dynamo';
import { EXAMPLE_TARGETS } from '../providers/examples';
import {
  type Attribute,
  createStateClient,
  jobKey,
  type OrderClaim,
  StateStore,
  StateUnavailable,
  stateStoreFromEnv,
} from './state';

let db: LocalDynamo;
const envOf = (endpoint: string): NodeJS.ProcessEnv => ({
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_DYNAMODB: endpoint,
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
});

beforeAll(async () => {
  db = await startLocalDynamo();
});
afterAll(async () => {
  await db?.close();
});

/** A store on its own clock, moved by hand: no sleeping for expiry. */
function storeAt(start: number, o: { ttlS?: number } = {}) {
  const clock = { now: start };
  const store = new StateStore({
    client: createStateClient(envOf(db.endpoint)),
    tableName: db.tableName,
    now: () => clock.now,
    ...o,
  });
  return { store, clock };
}

const uid = (p: string) => `${p}-${randomUUID()}`;
const T0 = Date.parse('2026-12-06T10:00:00Z');

describe('idempotent transitions', () => {
  it('refuses a second delivery while the first is in progress, until its deadline', async () => {
    const { store, clock } = storeAt(T0);
    const id = uid('t');
    const first = await store.begin(id, T0 + 30_000);
    expect(first.kind).toBe('proceed');
    expect(await store.begin(id, T0 + 30_000)).toEqual({ kind: 'inProgress', until: T0 + 30_000 });
    clock.now = T0 + 30_000;
    expect((await store.begin(id, T0 + 60_000)).kind).toBe('inProgress');
    // Past the holder's deadline it has been stopped: a redelivery takes over, and the old
    // holder can no longer store an outcome over the new one's.
    clock.now = T0 + 30_001;
    const second = await store.begin(id, T0 + 90_000);
    expect(second.kind).toBe('proceed');
    if (first.kind !== 'proceed') throw new Error('unreachable');
    expect(await store.complete(first.claim, { outcome: 'applied' })).toBe(false);
  });

  it('answers the stored outcome to a delivery after completion, in 2 requests', async () => {
    const { store } = storeAt(T0);
    const id = uid('t');
    const b = await store.begin(id, T0 + 30_000);
    if (b.kind !== 'proceed') throw new Error(`expected proceed, got ${b.kind}`);
    const outcome = { id, outcome: 'applied', priority: 7, error: null };
    expect(await store.complete(b.claim, outcome)).toBe(true);
    const before = store.requests;
    expect(await store.begin(id, T0 + 30_000)).toEqual({ kind: 'completed', outcome });
    expect(store.requests - before).toBe(2);
  });

  it('lets the next delivery act after a release (a failed transition is retried)', async () => {
    const { store } = storeAt(T0);
    const id = uid('t');
    const b = await store.begin(id, T0 + 30_000);
    if (b.kind !== 'proceed') throw new Error('expected proceed');
    await store.release(b.claim);
    expect((await store.begin(id, T0 + 30_000)).kind).toBe('proceed');
  });

  it('forgets a completed transition after its window (default 24 h, configurable)', async () => {
    const { store, clock } = storeAt(T0, { ttlS: 60 });
    const id = uid('t');
    const b = await store.begin(id, T0 + 1000);
    if (b.kind !== 'proceed') throw new Error('expected proceed');
    await store.complete(b.claim, { outcome: 'applied' });
    clock.now = T0 + 60_000;
    expect((await store.begin(id, clock.now + 1000)).kind).toBe('completed');
    clock.now = T0 + 61_000;
    expect((await store.begin(id, clock.now + 1000)).kind).toBe('proceed');

    const fromEnv = stateStoreFromEnv({ ...envOf(db.endpoint), JOBCTL_TABLE: db.tableName });
    const fromEnvShort = stateStoreFromEnv({
      ...envOf(db.endpoint),
      JOBCTL_TABLE: db.tableName,
      JOBCTL_IDEMPOTENCY_TTL_S: '120',
    });
    expect(stateStoreFromEnv({ ...envOf(db.endpoint) })).toBeNull();
    const doc = createStateClient(envOf(db.endpoint));
    const expiresAt = async (s: StateStore) => {
      const key = uid('t');
      const now = Date.now();
      await s.begin(key, now + 1000);
      const got = await doc.send(
        new GetCommand({ TableName: db.tableName, Key: { pk: `TRANSITION#${key}`, sk: 'TRANSITION' } }),
      );
      return Number(got.Item?.expiresAt) - Math.floor(now / 1000);
    };
    expect(await expiresAt(fromEnv!)).toBeGreaterThanOrEqual(24 * 3600 - 1);
    expect(await expiresAt(fromEnv!)).toBeLessThanOrEqual(24 * 3600 + 1);
    expect(await expiresAt(fromEnvShort!)).toBeLessThanOrEqual(121);
  });
});

const target = {
  provider: 'cos' as const,
  region: EXAMPLE_TARGETS.cos.region,
  account: EXAMPLE_TARGETS.cos.account,
  appId: EXAMPLE_TARGETS.cos.appId,
};
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace('Z', '+00:00');
const order = (
  job: string,
  transitionId: string,
  requestedAt: string,
  attribute: Attribute = 'priority',
) => ({
  job,
  attribute,
  transitionId,
  requestedAt,
});

describe('per-job ordering', () => {
  it('keys a job by provider, account, region, appId and id', () => {
    expect(jobKey(target, 'j1')).toBe('cos#100000000001#ap-guangzhou#1250000000#j1');
    expect(jobKey(EXAMPLE_TARGETS.s3, 'j')).toBe('s3#123456789012#us-east-1#-#j');
  });

  it('supersedes an older transition once a newer one is applied, naming the newer', async () => {
    const { store } = storeAt(T0);
    const job = jobKey(target, uid('job'));
    const c7 = await store.claimOrder(order(job, 'p7', at(1)), T0 + 30_000);
    if (c7.kind !== 'leased') throw new Error(`expected leased, got ${c7.kind}`);
    await store.finishOrder(c7.lease, { value: 7 });
    expect(await store.claimOrder(order(job, 'p5', at(0)), T0 + 30_000)).toEqual({
      kind: 'superseded',
      by: { transitionId: 'p7', requestedAt: at(1), value: 7 },
    });
    // Another attribute of the same job is ordered on its own.
    expect((await store.claimOrder(order(job, 's1', at(0), 'status'), T0 + 30_000)).kind).toBe('leased');
  });

  it('makes a newer transition wait while an older one holds the lease, then lets it through', async () => {
    const { store } = storeAt(T0);
    const job = jobKey(target, uid('job'));
    const c5 = await store.claimOrder(order(job, 'p5', at(0)), T0 + 30_000);
    if (c5.kind !== 'leased') throw new Error('expected leased');
    expect(await store.claimOrder(order(job, 'p7', at(1)), T0 + 30_000)).toEqual({
      kind: 'wait',
      holder: 'p5',
      until: T0 + 30_000,
    });
    await store.finishOrder(c5.lease, { value: 5 });
    expect((await store.claimOrder(order(job, 'p7', at(1)), T0 + 30_000)).kind).toBe('leased');
  });

  it('makes an older transition wait for a newer holder, and supersedes it once the newer applied', async () => {
    const { store } = storeAt(T0);
    const job = jobKey(target, uid('job'));
    const c7 = await store.claimOrder(order(job, 'p7', at(1)), T0 + 30_000);
    if (c7.kind !== 'leased') throw new Error('expected leased');
    expect((await store.claimOrder(order(job, 'p5', at(0)), T0 + 30_000)).kind).toBe('wait');
    await store.finishOrder(c7.lease, { value: 7 });
    expect((await store.claimOrder(order(job, 'p5', at(0)), T0 + 30_000)).kind).toBe('superseded');
  });

  it('lets an older transition through when the newer one ended without applying', async () => {
    const { store } = storeAt(T0);
    const job = jobKey(target, uid('job'));
    const c7 = await store.claimOrder(order(job, 'p7', at(1)), T0 + 30_000);
    if (c7.kind !== 'leased') throw new Error('expected leased');
    await store.finishOrder(c7.lease, null);
    expect((await store.claimOrder(order(job, 'p5', at(0)), T0 + 30_000)).kind).toBe('leased');
  });

  it('frees the lease of a holder that died at its deadline', async () => {
    const { store, clock } = storeAt(T0);
    const job = jobKey(target, uid('job'));
    const c5 = await store.claimOrder(order(job, 'p5', at(0)), T0 + 1000);
    if (c5.kind !== 'leased') throw new Error('expected leased');
    expect((await store.claimOrder(order(job, 'p7', at(1)), T0 + 30_000)).kind).toBe('wait');
    clock.now = T0 + 1001;
    const c7 = await store.claimOrder(order(job, 'p7', at(1)), T0 + 30_000);
    expect(c7.kind).toBe('leased');
    // The dead holder's late finish must not overwrite the newer one's record.
    if (c7.kind !== 'leased') throw new Error('unreachable');
    await store.finishOrder(c7.lease, { value: 7 });
    await store.finishOrder(c5.lease, { value: 5 });
    expect(await store.claimOrder(order(job, 'p6', at(0.5)), T0 + 30_000)).toMatchObject({
      kind: 'superseded',
      by: { transitionId: 'p7', value: 7 },
    });
  });

  it('orders transitions requested at the same instant by id, and compares instants across offsets', async () => {
    const { store } = storeAt(T0);
    const job = jobKey(target, uid('job'));
    const b = await store.claimOrder(order(job, 'b', '2026-12-06T18:00:00+08:00'), T0 + 30_000);
    if (b.kind !== 'leased') throw new Error('expected leased');
    await store.finishOrder(b.lease, { value: 2 });
    // 10:00Z is the same instant as 18:00+08:00 (a string comparison would call it older).
    expect((await store.claimOrder(order(job, 'a', '2026-12-06T10:00:00Z'), T0 + 30_000)).kind).toBe(
      'superseded',
    );
    expect((await store.claimOrder(order(job, 'c', '2026-12-06T10:00:00Z'), T0 + 30_000)).kind).toBe(
      'leased',
    );
  });

  it('ends the 5-then-7 race at 7 under concurrent, duplicated, reordered deliveries', async () => {
    // A job whose priority a "provider" sets after a random latency; two transitions (5 at t,
    // 7 at t+1 s), each delivered twice, all at once, each delivery retried when told to wait
    // — as SQS would, with a real clock and the real store.
    const store = new StateStore({ client: createStateClient(envOf(db.endpoint)), tableName: db.tableName });
    const ROUNDS = 8;
    for (let round = 0; round < ROUNDS; round++) {
      const job = jobKey(target, uid('race'));
      const provider = { priority: 1, sends: [] as number[] };
      const outcomes = new Map<string, Set<string>>();
      const deliver = async (id: string, value: number, requestedAt: string): Promise<string> => {
        for (let attempt = 0; attempt < 200; attempt++) {
          const deadline = Date.now() + 10_000;
          const b = await store.begin(id, deadline);
          if (b.kind === 'completed') return (b.outcome as { outcome: string }).outcome;
          if (b.kind === 'proceed') {
            const c: OrderClaim = await store.claimOrder(order(job, id, requestedAt), deadline);
            if (c.kind === 'wait') {
              await store.release(b.claim);
            } else if (c.kind === 'superseded') {
              await store.complete(b.claim, { outcome: 'superseded', by: c.by.transitionId });
              return 'superseded';
            } else {
              await sleep(Math.random() * 15);
              provider.priority = value;
              provider.sends.push(value);
              await store.finishOrder(c.lease, { value });
              await store.complete(b.claim, { outcome: 'applied' });
              return 'applied';
            }
          }
          await sleep(2 + Math.random() * 8);
        }
        throw new Error(`${id} never settled`);
      };
      const deliveries = [
        ['p5', 5, at(0)],
        ['p7', 7, at(1)],
        ['p5', 5, at(0)],
        ['p7', 7, at(1)],
      ] as const;
      const order_ = round % 2 ? [...deliveries].reverse() : deliveries;
      const results = await Promise.all(
        order_.map(async ([id, value, when], i) => {
          await sleep(i * (round % 3));
          const o = await deliver(`${job}:${id}`, value, when);
          const seen = outcomes.get(id) ?? new Set();
          seen.add(o);
          outcomes.set(id, seen);
          return o;
        }),
      );
      expect(provider.priority, `round ${round}: sends ${provider.sends}`).toBe(7);
      // One outcome per id, however many deliveries; 7 applied exactly once.
      for (const [id, seen] of outcomes) expect([...seen], `round ${round} ${id}`).toHaveLength(1);
      expect([...outcomes.get('p7')!]).toEqual(['applied']);
      expect(provider.sends.filter((v) => v === 7)).toHaveLength(1);
      expect(provider.sends.at(-1)).toBe(7);
      expect(results).toHaveLength(4);
    }
  });

  it('costs 4 DynamoDB requests for one transition applied', async () => {
    const { store } = storeAt(T0);
    const id = uid('t');
    const b = await store.begin(id, T0 + 30_000);
    if (b.kind !== 'proceed') throw new Error('expected proceed');
    const c = await store.claimOrder(order(jobKey(target, uid('job')), id, at(0)), T0 + 30_000);
    if (c.kind !== 'leased') throw new Error('expected leased');
    await store.finishOrder(c.lease, { value: 3 });
    await store.complete(b.claim, { outcome: 'applied' });
    expect(store.requests).toBe(4);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the store unavailable', () => {
  it('is StateUnavailable when nothing listens (nothing to act on)', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const store = new StateStore({
      client: createStateClient(envOf(`http://127.0.0.1:${port}`)),
      tableName: db.tableName,
    });
    let sent = 0;
    const attempt = async () => {
      const b = await store.begin(uid('t'), Date.now() + 10_000);
      if (b.kind === 'proceed') sent++;
    };
    await expect(attempt()).rejects.toBeInstanceOf(StateUnavailable);
    await expect(attempt()).rejects.toMatchObject({ code: 'StateUnavailable' });
    await expect(
      store.claimOrder(order(jobKey(target, 'j'), 't', at(0)), Date.now() + 10_000),
    ).rejects.toBeInstanceOf(StateUnavailable);
    expect(sent).toBe(0);
  });

  it('is StateUnavailable when the store does not answer in time', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const store = new StateStore({
        client: createStateClient(envOf(`http://127.0.0.1:${port}`)),
        tableName: db.tableName,
        requestTimeoutMs: 200,
      });
      await expect(store.begin(uid('t'), Date.now() + 10_000)).rejects.toBeInstanceOf(StateUnavailable);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
