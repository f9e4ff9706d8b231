/**
 * The job store: time applied lazily from an injected clock (so pace and the Suspended timeout are
 * exact, not timed), listing order and pagination, and scale (10,000 jobs in one namespace).
 */

import { describe, expect, it } from 'vitest';
import { EXAMPLE_TARGETS } from '../../providers/examples';
import type { JobStatus } from '../../providers/types';
import { ACTIVE_STEPS } from './lifecycle';
import { generateJobs } from './seed';
import { InvalidNextToken, JobStore } from './store';
import type { Scope } from './types';

const COS: Scope = { provider: 'cos', namespace: EXAMPLE_TARGETS.cos.appId };
const STEP = 1000;

function clockedStore(opts: { stepMs?: number | null; suspendedTimeoutMs?: number } = {}) {
  let t = Date.UTC(2026, 10, 24, 0, 0, 0);
  const store = new JobStore({
    now: () => t,
    pace: {
      stepMs: opts.stepMs === undefined ? STEP : opts.stepMs,
      suspendedTimeoutMs: opts.suspendedTimeoutMs ?? Number.POSITIVE_INFINITY,
    },
  });
  return {
    store,
    tick: (ms: number) => {
      t += ms;
    },
    now: () => t,
  };
}

let ids = 0;
const create = (store: JobStore, confirmationRequired: boolean, scope: Scope = COS) =>
  store.createJob(scope, {
    jobId: `job-${++ids}`,
    priority: 10,
    confirmationRequired,
    description: 'nightly-x',
  });

describe('pace', () => {
  it('moves a confirmed job one status per step until Complete', () => {
    const { store, tick } = clockedStore();
    const job = create(store, false);
    const seen: JobStatus[] = [];
    for (let i = 0; i < 12; i++) {
      seen.push(store.get(COS, job.jobId)!.status);
      tick(STEP);
    }
    expect(seen).toEqual([
      'New',
      'Preparing',
      'Ready',
      ...Array<JobStatus>(ACTIVE_STEPS).fill('Active'),
      'Completing',
      'Complete',
      'Complete',
      'Complete',
    ]);
  });

  it('applies transitions at the instant they were due, however late the next access', () => {
    const { store, tick, now } = clockedStore();
    const created = now();
    const job = create(store, false);
    tick(100 * STEP);
    const done = store.get(COS, job.jobId)!;
    expect(done.status).toBe('Complete');
    expect(done.terminationTime).toBe(created + (4 + ACTIVE_STEPS) * STEP);
    expect(done.tasksSucceeded).toBe(done.totalTasks);
  });

  it('holds a job that requires confirmation in Suspended until it is confirmed', () => {
    const { store, tick } = clockedStore();
    const job = create(store, true);
    tick(2 * STEP);
    expect(store.get(COS, job.jobId)!.status).toBe('Suspended');
    tick(1000 * STEP);
    expect(store.get(COS, job.jobId)!.status).toBe('Suspended');
    const r = store.updateStatus(COS, job.jobId, 'Ready', 'go');
    expect(r).toMatchObject({ ok: true, job: { status: 'Ready', statusUpdateReason: 'go' } });
    tick(STEP);
    expect(store.get(COS, job.jobId)!.status).toBe('Active');
  });

  it('grows an Active job’s progress with its time in Active and keeps it when cancelled', () => {
    const { store, tick } = clockedStore();
    const job = create(store, false);
    tick(3 * STEP); // New → Preparing → Ready → Active
    const atStart = store.progress(store.get(COS, job.jobId)!);
    tick(2 * STEP);
    const later = store.progress(store.get(COS, job.jobId)!);
    expect(atStart.succeeded).toBe(0);
    expect(later.succeeded).toBe(Math.floor((job.totalTasks * 2) / ACTIVE_STEPS));
    expect(later.activeSeconds).toBe((2 * STEP) / 1000);
    expect(store.updateStatus(COS, job.jobId, 'Cancelled', undefined)).toMatchObject({
      ok: true,
      job: { status: 'Cancelling' },
    });
    tick(STEP);
    const cancelled = store.get(COS, job.jobId)!;
    expect(cancelled.status).toBe('Cancelled');
    expect(cancelled.tasksSucceeded).toBe(later.succeeded);
  });

  it('fails a Suspended job that waits longer than the timeout, with a reason', () => {
    const { store, tick, now } = clockedStore({ suspendedTimeoutMs: 60 * STEP });
    const job = create(store, true);
    tick(2 * STEP);
    const suspendedAt = now();
    tick(60 * STEP - 1);
    expect(store.get(COS, job.jobId)!.status).toBe('Suspended');
    tick(1);
    const failed = store.get(COS, job.jobId)!;
    expect(failed.status).toBe('Failed');
    expect(failed.terminationTime).toBe(suspendedAt + 60 * STEP);
    expect(failed.failureReasons).toEqual([
      { code: 'SuspendedTimeout', reason: expect.stringContaining('60000') },
    ]);
  });

  it('restarts the timeout when a job is suspended again, never from an older suspension', () => {
    const { store, tick } = clockedStore({ stepMs: null, suspendedTimeoutMs: 10 * STEP });
    store.seed([{ provider: 'cos', appId: COS.namespace, jobId: 'seeded', status: 'Suspended' }], () => 'x');
    tick(5 * STEP);
    // A priority change does not touch the status clock.
    store.updatePriority(COS, 'seeded', 99);
    tick(5 * STEP - 1);
    expect(store.get(COS, 'seeded')!.status).toBe('Suspended');
    tick(1);
    expect(store.get(COS, 'seeded')!.status).toBe('Failed');
  });

  it('freezes jobs when the pace is off', () => {
    const { store, tick } = clockedStore({ stepMs: null });
    const job = create(store, false);
    tick(1e9);
    expect(store.get(COS, job.jobId)!.status).toBe('New');
  });

  it('reports refusals without changing the job', () => {
    const { store } = clockedStore({ stepMs: null });
    store.seed(
      [
        { provider: 'cos', appId: COS.namespace, jobId: 'done', status: 'Complete' },
        { provider: 'cos', appId: COS.namespace, jobId: 'gone', status: 'Cancelled' },
      ],
      () => 'x',
    );
    expect(store.updateStatus(COS, 'done', 'Cancelled', 'r')).toMatchObject({
      ok: false,
      reason: 'completed',
    });
    expect(store.updateStatus(COS, 'gone', 'Ready', 'r')).toMatchObject({ ok: false, reason: 'transition' });
    expect(store.updateStatus(COS, 'nope', 'Ready', 'r')).toEqual({ ok: false, reason: 'not-found' });
    expect(store.updatePriority(COS, 'done', 1)).toMatchObject({ ok: false, reason: 'terminal' });
    expect(store.get(COS, 'done')).toMatchObject({
      status: 'Complete',
      statusUpdateReason: null,
      priority: 10,
    });
  });

  it('makes an id in the provider’s format when none is given, and refuses a duplicate', () => {
    const { store } = clockedStore();
    const oss = store.createJob(
      { provider: 'oss', namespace: EXAMPLE_TARGETS.oss.region },
      { priority: 1, confirmationRequired: false },
    );
    expect(oss.jobId).toMatch(/^[A-Za-z0-9]{43}=$/);
    expect(() =>
      store.createJob(
        { provider: 'oss', namespace: EXAMPLE_TARGETS.oss.region },
        { jobId: oss.jobId, priority: 1, confirmationRequired: false },
      ),
    ).toThrow(/already exists/);
  });

  it('hands out copies: changing a returned job changes nothing stored', () => {
    const { store } = clockedStore();
    const job = create(store, false);
    job.status = 'Failed';
    job.failureReasons.push({ code: 'x', reason: 'y' });
    expect(store.get(COS, job.jobId)).toMatchObject({ status: 'New', failureReasons: [] });
  });
});

describe('listing', () => {
  it('lists newest first, by creation time and then by insertion', () => {
    const { store, tick } = clockedStore({ stepMs: null });
    store.seed(
      [
        { provider: 'cos', appId: COS.namespace, jobId: 'old', status: 'Suspended', ageMinutes: 60 },
        { provider: 'cos', appId: COS.namespace, jobId: 'older', status: 'Suspended', ageMinutes: 120 },
      ],
      () => 'x',
    );
    tick(1);
    const a = create(store, false);
    const b = create(store, false); // same instant as `a`: inserted later, listed first
    expect(store.list(COS, { maxResults: 10 }).jobs.map((j) => j.jobId)).toEqual([
      b.jobId,
      a.jobId,
      'old',
      'older',
    ]);
  });

  it('filters by several statuses and keeps namespaces apart', () => {
    const { store } = clockedStore({ stepMs: null });
    const statuses: JobStatus[] = ['Suspended', 'Active', 'Complete', 'Suspended', 'Failed', 'Active'];
    store.seed(
      statuses.map((status, i) => ({
        provider: 'cos',
        appId: COS.namespace,
        jobId: `j${i}`,
        status,
        ageMinutes: 10 - i,
      })),
      () => 'x',
    );
    const page = store.list(COS, { statuses: ['Active', 'Failed'], maxResults: 10 });
    expect(page.jobs.map((j) => j.jobId)).toEqual(['j5', 'j4', 'j1']);
    expect(page.nextToken).toBeNull();
    expect(store.list({ provider: 'cos', namespace: '1250000001' }, { maxResults: 10 }).jobs).toEqual([]);
    expect(store.list({ provider: 's3', namespace: COS.namespace }, { maxResults: 10 }).jobs).toEqual([]);
  });

  it('pages through 2,500 jobs without a gap or a repeat', () => {
    const { store } = clockedStore({ stepMs: null });
    store.seed(generateJobs(2500, { provider: 'cos', appId: COS.namespace }), () => 'x');
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = store.list(COS, { maxResults: 1000, nextToken: token });
      seen.push(...page.jobs.map((j) => j.description));
      token = page.nextToken ?? undefined;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(2500);
    expect(new Set(seen).size).toBe(2500);
    // generateJobs numbers jobs oldest first, so newest first is descending.
    expect(seen[0]).toBe('nightly-bench-02500');
    expect(seen.at(-1)).toBe('nightly-bench-00001');
  });

  it('pages a filtered listing that matches only some jobs', () => {
    const { store } = clockedStore({ stepMs: null });
    const jobs = generateJobs(300, { provider: 'cos', appId: COS.namespace }).map((j, i) => ({
      ...j,
      status: (i % 3 === 0 ? 'Active' : 'Suspended') as JobStatus,
    }));
    store.seed(jobs, () => 'x');
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = store.list(COS, { statuses: ['Active'], maxResults: 7, nextToken: token });
      expect(page.jobs.every((j) => j.status === 'Active')).toBe(true);
      seen.push(...page.jobs.map((j) => j.jobId));
      token = page.nextToken ?? undefined;
    } while (token);
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
  });

  it('refuses a token that names no job', () => {
    const { store } = clockedStore();
    create(store, false);
    expect(() => store.list(COS, { maxResults: 1, nextToken: 'not-a-job' })).toThrow(InvalidNextToken);
  });

  it('keeps paging stable while new jobs arrive between pages', () => {
    const { store, tick } = clockedStore({ stepMs: null });
    store.seed(generateJobs(10, { provider: 'cos', appId: COS.namespace }), () => 'x');
    const first = store.list(COS, { maxResults: 5 });
    tick(1);
    create(store, false); // newer than everything: must not shift the next page
    const second = store.list(COS, { maxResults: 5, nextToken: first.nextToken! });
    expect([...first.jobs, ...second.jobs].map((j) => j.description)).toEqual(
      Array.from({ length: 10 }, (_, i) => `nightly-bench-${String(10 - i).padStart(5, '0')}`),
    );
  });

  it('holds 10,000 Suspended nightly- jobs in one namespace and pages them all', () => {
    const { store } = clockedStore({ suspendedTimeoutMs: 30 * 24 * 3600 * 1000 });
    store.seed(generateJobs(10_000, { provider: 's3', account: EXAMPLE_TARGETS.s3.account }), () => 'x');
    const scope: Scope = { provider: 's3', namespace: EXAMPLE_TARGETS.s3.account };
    expect(store.count(scope)).toBe(10_000);
    let token: string | undefined;
    let total = 0;
    let pages = 0;
    do {
      const page = store.list(scope, { statuses: ['Suspended'], maxResults: 1000, nextToken: token });
      total += page.jobs.length;
      pages++;
      token = page.nextToken ?? undefined;
    } while (token);
    expect({ total, pages }).toEqual({ total: 10_000, pages: 10 });
  });
});

describe('snapshot and restore', () => {
  it('brings back jobs, their order, their clocks and the id sequence', () => {
    const a = clockedStore();
    const job = create(a.store, true);
    a.tick(2 * STEP);
    a.store.seed(
      [{ provider: 'oss', region: EXAMPLE_TARGETS.oss.region, jobId: 'o1', status: 'Active' }],
      () => 'x',
    );
    const snap = JSON.parse(JSON.stringify(a.store.snapshot()));

    const b = clockedStore();
    b.tick(2 * STEP);
    b.store.restore(snap);
    expect(b.store.all()).toEqual(a.store.all());
    expect(b.store.get(COS, job.jobId)!.status).toBe('Suspended');
    // The restored Active job keeps moving on the restored clock.
    b.tick(ACTIVE_STEPS * STEP);
    expect(b.store.get({ provider: 'oss', namespace: EXAMPLE_TARGETS.oss.region }, 'o1')!.status).toBe(
      'Completing',
    );
    const next = create(b.store, false);
    expect(next.seq).toBeGreaterThan(Math.max(...a.store.all().map((j) => j.seq)));
  });

  it('refuses a snapshot in an unknown format', () => {
    const { store } = clockedStore();
    expect(() => store.restore({ format: 'other', seq: 0, jobs: [] } as never)).toThrow(
      /unknown sandbox state/,
    );
  });
});
