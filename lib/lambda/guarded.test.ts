/**
 * applyGuarded with the real controller against the sandbox provider (with latency), and the real
 * state store on dynalite: the three contradictions of issue 15, and a store that is down.
 */

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllowlist } from '../core/allowlist';
import { createController } from '../core/controller';
import type { Outcome, Trigger } from '../core/outcome';
import type { JobTransition } from '../core/transition';
import { LOCAL_CREDENTIALS, type LocalDynamo, startLocalDynamo } from '../local/dynamo';
import { type Sandbox, startSandbox } from '../local/sandbox/server';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { providersFromEnv } from '../providers/index';
import { applyGuarded, type GuardDeps, MAX_CLOCK_SKEW_MS, TryLater } from './guarded';
import { createStateClient, StateStore } from './state';

const TARGET = EXAMPLE_TARGETS.cos;
const JOBS = { active: 'guard-active-1', suspended: 'guard-suspended-1', race: 'guard-race-1' };
const LATENCY_MS = 300;

let db: LocalDynamo;
let sb: Sandbox;
let deps: GuardDeps;
let published: Outcome[];
const providers = () => providersFromEnv(sb.env, 10_000);

beforeAll(async () => {
  db = await startLocalDynamo();
  sb = await startSandbox({
    pace: false,
    seed: [
      { ...TARGET, jobId: JOBS.active, status: 'Active', priority: 10 },
      { ...TARGET, jobId: JOBS.race, status: 'Active', priority: 10 },
      { ...TARGET, jobId: JOBS.suspended, status: 'Suspended', priority: 10 },
    ],
  });
  sb.setFaults({ latencyMs: LATENCY_MS });
});
afterAll(async () => {
  await sb?.close();
  await db?.close();
});
beforeEach(() => {
  published = [];
  deps = {
    state: new StateStore({
      client: createStateClient({
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      }),
      tableName: db.tableName,
    }),
    controller: createController({ providers: providers(), allowlist: parseAllowlist('') }),
    publish: async (o) => {
      published.push(o);
    },
  };
});

const trigger: Trigger = { type: 'sqs', messageId: 'm-1' };
const ctx = () => ({
  id: `m-${randomUUID()}`,
  deadline: Date.now() + 20_000,
  hardDeadline: Date.now() + 25_000,
});
const changes = () => {
  const s = sb.stats().byOperation;
  return (s['cos:UpdateJobPriority'] ?? 0) + (s['cos:UpdateJobStatus'] ?? 0);
};
const priorityOf = async (jobId: string) =>
  (await (await providers().get('cos')).describe(TARGET, jobId)).priority;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A delivery as SQS repeats it: again after TryLater, a bounded number of times. */
async function untilHandled(t: JobTransition): Promise<Outcome> {
  for (let i = 0; i < 100; i++) {
    try {
      return (await applyGuarded(t, trigger, ctx(), deps)).outcome;
    } catch (e) {
      if (!(e instanceof TryLater)) throw e;
      await sleep(50);
    }
  }
  throw new Error(`${t.id} never handled`);
}

const prio = (id: string, priority: number, requestedAt: string, jobId = JOBS.active): JobTransition => ({
  ...TARGET,
  id,
  jobId,
  action: 'UpdateJobPriority',
  priority,
  requestedAt,
});

describe('applyGuarded', () => {
  it('sends a transition delivered twice at once only once, and republishes its outcome after', async () => {
    const t = prio(`dup-${randomUUID()}`, 42, new Date().toISOString());
    const before = changes();
    const both = await Promise.allSettled([
      applyGuarded(t, trigger, ctx(), deps),
      applyGuarded(t, trigger, ctx(), deps),
    ]);
    // One acts; the other is told to try later (or, had it started only after the first
    // finished, gets the stored outcome) — never a second send.
    const acted = both.filter((r) => r.status === 'fulfilled' && !r.value.republished);
    expect(acted).toHaveLength(1);
    for (const r of both)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TryLater);
      else expect(r.value.outcome.outcome).toBe('applied');
    expect(changes() - before).toBe(1);

    const again = await applyGuarded(t, trigger, ctx(), deps);
    expect(again.republished).toBe(true);
    expect(again.outcome).toEqual(published[0]);
    expect(new Set(published.map((o) => JSON.stringify(o))).size).toBe(1);
    expect(changes() - before).toBe(1);
  });

  it('never reports expired for a transition applied by a delivery still in flight', async () => {
    const slow = 1500;
    sb.setFaults({ latencyMs: slow });
    try {
      const t: JobTransition = {
        ...TARGET,
        id: `exp-${randomUUID()}`,
        jobId: JOBS.suspended,
        action: 'UpdateJobStatus',
        requestedJobStatus: 'Ready',
        notAfter: new Date(Date.now() + 400).toISOString(),
      };
      const sent = () => sb.stats().byOperation['cos:UpdateJobStatus'] ?? 0;
      const before = sent();
      const first = applyGuarded(t, trigger, ctx(), deps);
      // The first delivery's change has reached the provider (which answers `slow` ms later)...
      for (let i = 0; i < 200 && sent() === before; i++) await sleep(10);
      expect(sent()).toBe(before + 1);
      // ...and notAfter passes while it waits: a redelivery now must not say `expired`.
      await sleep(Math.max(0, Date.parse(t.notAfter!) - Date.now() + 50));
      const second = await untilHandled(t);
      await first;
      expect(published.map((o) => o.outcome)).toEqual(['applied', 'applied']);
      expect(second).toEqual(published[0]);
      expect(sent()).toBe(before + 1);
    } finally {
      sb.setFaults({ latencyMs: LATENCY_MS });
    }
  });

  it('ends the 5-then-7 race at 7, the older one superseded naming the newer', async () => {
    const t0 = Date.now();
    const p5 = prio(`p5-${randomUUID()}`, 5, new Date(t0).toISOString(), JOBS.race);
    const p7 = prio(`p7-${randomUUID()}`, 7, new Date(t0 + 1000).toISOString(), JOBS.race);
    // Each delivered twice, all at once, the older first.
    const outcomes = await Promise.all(
      [p5, p7, p5, p7].map((t, i) => sleep(i * 20).then(() => untilHandled(t))),
    );
    expect(await priorityOf(JOBS.race)).toBe(7);
    const byId = (id: string) => new Set(outcomes.filter((o) => o.id === id).map((o) => o.outcome));
    expect([...byId(p7.id!)]).toEqual(['applied']);
    expect(byId(p5.id!).size).toBe(1);

    // An older one arriving after the newer applied is never sent.
    const late = prio(`p3-${randomUUID()}`, 3, new Date(t0 + 500).toISOString(), JOBS.race);
    const before = changes();
    const o = await untilHandled(late);
    expect(o.outcome).toBe('superseded');
    expect(o.error).toMatchObject({ code: 'Superseded', message: expect.stringContaining(p7.id!) });
    expect(changes()).toBe(before);
    expect(await priorityOf(JOBS.race)).toBe(7);
  });

  it('fails StateUnavailable and sends nothing when the store is down', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    deps.state = new StateStore({
      client: createStateClient({
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}`,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      }),
      tableName: db.tableName,
    });
    const before = sb.stats().requests;
    const { outcome } = await applyGuarded(
      prio(`down-${randomUUID()}`, 9, new Date().toISOString()),
      trigger,
      ctx(),
      deps,
    );
    expect(outcome).toMatchObject({ outcome: 'failed', error: { code: 'StateUnavailable' }, attempts: 0 });
    expect(published).toEqual([outcome]);
    expect(sb.stats().requests).toBe(before);
  });

  it('stores no failed outcome: the retry acts, and frees the job for others meanwhile', async () => {
    const t = prio(`fail-${randomUUID()}`, 33, new Date().toISOString());
    const quick = { ...ctx(), deadline: Date.now() + 1500 };
    sb.setFaults({ latencyMs: LATENCY_MS, serverErrorRate: 1 });
    try {
      const first = await applyGuarded(t, trigger, quick, deps);
      expect(first.outcome.outcome).toBe('failed');
    } finally {
      sb.setFaults({ latencyMs: LATENCY_MS });
    }
    const retry = await applyGuarded(t, trigger, ctx(), deps);
    expect(retry).toMatchObject({ republished: false, outcome: { outcome: 'applied', priority: 33 } });
    expect(await priorityOf(JOBS.active)).toBe(33);
  });

  it('stamps requestedAt from the queue when the message has none', async () => {
    const jobId = JOBS.active;
    const newer = prio(`n-${randomUUID()}`, 20, new Date(Date.now() + 60_000).toISOString(), jobId);
    await untilHandled(newer);
    const { requestedAt: _, ...unstamped } = prio(`u-${randomUUID()}`, 21, '', jobId);
    const r = await applyGuarded(unstamped, trigger, { ...ctx(), sentAt: Date.now() }, deps);
    expect(r.outcome.outcome).toBe('superseded');
  });

  it('does not let a requestedAt far ahead of its sending supersede the transitions after it', async () => {
    const jobId = JOBS.race;
    const sentAt = Date.now();
    const typo = prio(`y-${randomUUID()}`, 70, '2036-01-01T00:00:00+00:00', jobId);
    expect((await applyGuarded(typo, trigger, { ...ctx(), sentAt }, deps)).outcome.outcome).toBe('applied');
    const later = prio(
      `z-${randomUUID()}`,
      71,
      new Date(sentAt + MAX_CLOCK_SKEW_MS + 1000).toISOString(),
      jobId,
    );
    expect((await untilHandled(later)).outcome).toBe('applied');
    expect(await priorityOf(jobId)).toBe(71);
  });
});
