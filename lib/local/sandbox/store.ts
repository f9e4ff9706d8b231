/**
 * All sandbox state in one place: jobs per namespace, kept in listing order (newest first) so a
 * page is a slice, never a sort; and a min-heap of each job's next automatic transition, so time
 * is applied lazily — on every access the due transitions run at the instants they were due,
 * which keeps the lifecycle deterministic under an injected clock without any timers.
 */
import type { JobStatus } from '../../providers/types';
import { newJobId } from './ids';
import { automaticStep, decideStatusChange, type Pace, type Requestable, TERMINAL } from './lifecycle';
import { inScope, type SandboxJob, type Scope, type SeedJob } from './types';

export interface ListOptions {
  /** Only these statuses; all when absent or empty. */
  statuses?: readonly JobStatus[] | undefined;
  maxResults: number;
  /** The last job id of the previous page. */
  nextToken?: string | undefined;
}

export interface ListPage {
  jobs: SandboxJob[];
  /** The last job id of this page when more may follow. */
  nextToken: string | null;
}

/** A `nextToken` that names no job in the namespace. */
export class InvalidNextToken extends Error {
  override readonly name = 'InvalidNextToken';
}

export interface CreateJobInput {
  description?: string | undefined;
  priority: number;
  confirmationRequired: boolean;
  clientRequestToken?: string | undefined;
  operation?: string | undefined;
  totalTasks?: number | undefined;
  region?: string | null | undefined;
  /** In the provider's format when absent. */
  jobId?: string | undefined;
}

export type StatusChangeResult =
  | { ok: true; job: SandboxJob }
  | { ok: false; reason: 'not-found' | 'completed' | 'transition'; job?: SandboxJob };

export type PriorityChangeResult =
  | { ok: true; job: SandboxJob }
  | { ok: false; reason: 'not-found' | 'terminal'; job?: SandboxJob };

/** The persisted form: the jobs and the sequence counter. Heap and indices are rebuilt on load. */
export interface StoreSnapshot {
  format: 'jobctl-sandbox/1';
  seq: number;
  jobs: SandboxJob[];
}

export interface JobStoreOptions {
  now: () => number;
  pace: Pace;
  /**
   * Called, before the change is reported to the caller, with the jobs an API call or a seed
   * changed; persistence journals them. Steps the clock makes alone are not reported: they follow
   * from the jobs' state and the clock.
   */
  onChange?: (jobs: readonly SandboxJob[]) => void;
}

interface Namespace {
  byId: Map<string, SandboxJob>;
  /** Ascending by (creationTime, seq): the newest job is last, so creation appends. */
  order: SandboxJob[];
}

interface Due {
  at: number;
  job: SandboxJob;
  version: number;
}

const DEFAULT_TOTAL_TASKS = 1000;

export class JobStore {
  private readonly namespaces = new Map<string, Namespace>();
  private readonly heap: Due[] = [];
  /** Per-job version: a heap entry whose version is stale was superseded by a later change. */
  private readonly versions = new WeakMap<SandboxJob, number>();
  private seq = 0;
  readonly now: () => number;
  readonly pace: Pace;
  private readonly onChange: (jobs: readonly SandboxJob[]) => void;

  constructor(opts: JobStoreOptions) {
    this.now = opts.now;
    this.pace = opts.pace;
    this.onChange = opts.onChange ?? (() => {});
  }

  // ── reads ─────────────────────────────────────────────────────────────────────────────────

  get(scope: Scope, jobId: string): SandboxJob | undefined {
    this.advance();
    const job = this.find(scope, jobId);
    return job && this.view(job);
  }

  /** Newest first; `statuses` filters; pages continue after the job named by `nextToken`. */
  list(scope: Scope, opts: ListOptions): ListPage {
    this.advance();
    const ns = this.ns(scope, false);
    let start = ns ? ns.order.length - 1 : -1;
    if (opts.nextToken !== undefined) {
      const after = this.find(scope, opts.nextToken);
      if (!ns || !after) throw new InvalidNextToken(`no job ${opts.nextToken} to continue after`);
      start = indexOf(ns.order, after) - 1;
    }
    const wanted = opts.statuses && opts.statuses.length > 0 ? new Set(opts.statuses) : null;
    const jobs: SandboxJob[] = [];
    let i = start;
    for (; i >= 0 && jobs.length < opts.maxResults; i--) {
      const job = ns!.order[i]!;
      if ((!wanted || wanted.has(job.status)) && inScope(job, scope)) jobs.push(this.view(job));
    }
    // More may follow only if the scan stopped early; a filtered tail may still turn out empty.
    const more = i >= 0 && jobs.length > 0;
    return { jobs, nextToken: more ? jobs[jobs.length - 1]!.jobId : null };
  }

  /** Every job, all namespaces (tests and persistence). */
  all(): SandboxJob[] {
    this.advance();
    const out: SandboxJob[] = [];
    for (const ns of this.namespaces.values()) for (const job of ns.order) out.push(this.view(job));
    return out;
  }

  count(scope?: Scope): number {
    if (scope) return this.ns(scope, false)?.order.length ?? 0;
    let n = 0;
    for (const ns of this.namespaces.values()) n += ns.order.length;
    return n;
  }

  findByClientToken(scope: Scope, token: string): SandboxJob | undefined {
    this.advance();
    for (const job of this.ns(scope, false)?.order ?? []) {
      if (job.clientRequestToken === token && inScope(job, scope)) return this.view(job);
    }
    return undefined;
  }

  // ── writes ────────────────────────────────────────────────────────────────────────────────

  /** A job created through the API starts in New and moves on at the configured pace. */
  createJob(scope: Scope, input: CreateJobInput): SandboxJob {
    this.advance();
    const now = this.now();
    const job: SandboxJob = {
      provider: scope.provider,
      namespace: scope.namespace,
      jobId: input.jobId ?? newJobId(scope.provider),
      status: 'New',
      priority: input.priority,
      description: input.description ?? '',
      creationTime: now,
      statusSince: now,
      statusUpdateReason: null,
      confirmationRequired: input.confirmationRequired,
      terminationTime: null,
      suspendedDate: null,
      totalTasks: input.totalTasks ?? DEFAULT_TOTAL_TASKS,
      tasksSucceeded: 0,
      tasksFailed: 0,
      activeMs: 0,
      failureReasons: [],
      operation: input.operation ?? defaultOperation(scope.provider),
      clientRequestToken: input.clientRequestToken ?? null,
      region: input.region ?? scope.region ?? null,
      account: scope.provider === 'cos' ? (scope.account ?? null) : null,
      seq: 0,
    };
    if (this.ns(scope, false)?.byId.has(job.jobId)) throw new Error(`job ${job.jobId} already exists`);
    this.insert(job);
    this.onChange([job]);
    return this.view(job);
  }

  /** Load seed jobs as they are described: in their status, entered at load time. */
  seed(seeds: readonly SeedJob[], makeId: (provider: SeedJob['provider']) => string): void {
    const now = this.now();
    const added: SandboxJob[] = [];
    for (const s of seeds) {
      const namespace = seedNamespace(s);
      const creationTime =
        s.creationTime !== undefined ? Date.parse(s.creationTime) : now - (s.ageMinutes ?? 0) * 60_000;
      if (!Number.isFinite(creationTime)) throw new Error(`seed job: bad creationTime ${s.creationTime}`);
      const total = s.totalTasks ?? DEFAULT_TOTAL_TASKS;
      const terminal = TERMINAL.has(s.status);
      const job: SandboxJob = {
        provider: s.provider,
        namespace,
        jobId: s.jobId ?? makeId(s.provider),
        status: s.status,
        priority: s.priority ?? 10,
        description: s.description ?? '',
        creationTime,
        statusSince: Math.max(creationTime, now),
        statusUpdateReason: s.statusUpdateReason ?? null,
        confirmationRequired: s.confirmationRequired ?? s.status === 'Suspended',
        terminationTime: terminal ? now : null,
        suspendedDate: s.status === 'Suspended' ? now : null,
        totalTasks: total,
        tasksSucceeded: s.tasksSucceeded ?? (s.status === 'Complete' ? total - (s.tasksFailed ?? 0) : 0),
        tasksFailed: s.tasksFailed ?? 0,
        activeMs: 0,
        failureReasons:
          s.status === 'Failed'
            ? [{ code: 'SandboxSeed', reason: s.statusUpdateReason ?? 'seeded as failed' }]
            : [],
        operation: s.operation ?? defaultOperation(s.provider),
        clientRequestToken: null,
        region: s.region ?? null,
        account: s.provider === 'cos' ? (s.account ?? null) : null,
        seq: 0,
      };
      const ns = this.ns({ provider: s.provider, namespace }, true)!;
      if (ns.byId.has(job.jobId)) throw new Error(`seed job ${job.jobId} appears twice in ${namespace}`);
      this.insert(job);
      added.push(job);
    }
    if (added.length > 0) this.onChange(added);
  }

  updateStatus(
    scope: Scope,
    jobId: string,
    requested: Requestable,
    reason: string | undefined,
  ): StatusChangeResult {
    this.advance();
    const job = this.find(scope, jobId);
    if (!job) return { ok: false, reason: 'not-found' };
    const decision = decideStatusChange(scope.provider, job.status, requested);
    if (!decision.ok) return { ok: false, reason: decision.reason, job: this.view(job) };
    this.enter(job, decision.status, this.now());
    // Ready confirms the job for good: it never asks again.
    if (requested === 'Ready') job.confirmationRequired = false;
    job.statusUpdateReason = reason ?? job.statusUpdateReason;
    this.onChange([job]);
    return { ok: true, job: this.view(job) };
  }

  updatePriority(scope: Scope, jobId: string, priority: number): PriorityChangeResult {
    this.advance();
    const job = this.find(scope, jobId);
    if (!job) return { ok: false, reason: 'not-found' };
    if (TERMINAL.has(job.status)) return { ok: false, reason: 'terminal', job: this.view(job) };
    job.priority = priority;
    this.onChange([job]);
    return { ok: true, job: this.view(job) };
  }

  // ── time ──────────────────────────────────────────────────────────────────────────────────

  /** Run every automatic transition due by `now`, each at the instant it was due. */
  advance(now: number = this.now()): void {
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const due = pop(this.heap)!;
      if (this.versions.get(due.job) !== due.version) continue;
      const next = automaticStep(due.job.status, due.job, this.pace);
      if (!next) continue;
      const from = due.job.status;
      this.enter(due.job, next.status, due.at);
      if (from === 'Suspended') {
        due.job.failureReasons.push({
          code: 'SuspendedTimeout',
          reason: `The job waited for confirmation longer than ${this.pace.suspendedTimeoutMs} ms`,
        });
      }
    }
  }

  /** Progress as of now: an Active job's succeeded count grows with its time in Active. */
  progress(job: SandboxJob): { succeeded: number; failed: number; total: number; activeSeconds: number } {
    const now = this.now();
    const activeNow = job.status === 'Active' ? Math.max(0, now - job.statusSince) : 0;
    return {
      succeeded: job.status === 'Active' ? this.liveSucceeded(job, now) : job.tasksSucceeded,
      failed: job.tasksFailed,
      total: job.totalTasks,
      activeSeconds: Math.floor((job.activeMs + activeNow) / 1000),
    };
  }

  // ── persistence ───────────────────────────────────────────────────────────────────────────

  snapshot(): StoreSnapshot {
    return { format: 'jobctl-sandbox/1', seq: this.seq, jobs: this.all() };
  }

  /** Replace all state with a snapshot; jobs keep their statuses and their place in time. */
  restore(snapshot: StoreSnapshot): void {
    if (snapshot.format !== 'jobctl-sandbox/1')
      throw new Error(`unknown sandbox state format ${snapshot.format}`);
    this.namespaces.clear();
    this.heap.length = 0;
    const jobs = [...snapshot.jobs].sort((a, b) => a.seq - b.seq);
    for (const j of jobs) {
      const job = { ...j, failureReasons: [...j.failureReasons] };
      this.seq = Math.max(this.seq, job.seq);
      this.placeInOrder(job);
      this.schedule(job);
    }
    this.seq = Math.max(this.seq, snapshot.seq);
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  /** The job, if it belongs to every part of the target the scope names. */
  private find(scope: Scope, jobId: string): SandboxJob | undefined {
    const job = this.ns(scope, false)?.byId.get(jobId);
    return job && inScope(job, scope) ? job : undefined;
  }

  private ns(scope: Scope, create: boolean): Namespace | undefined {
    const key = `${scope.provider}:${scope.namespace}`;
    let ns = this.namespaces.get(key);
    if (!ns && create) {
      ns = { byId: new Map(), order: [] };
      this.namespaces.set(key, ns);
    }
    return ns;
  }

  private insert(job: SandboxJob): void {
    job.seq = ++this.seq;
    this.placeInOrder(job);
    this.schedule(job);
  }

  private placeInOrder(job: SandboxJob): void {
    const ns = this.ns(job, true)!;
    ns.byId.set(job.jobId, job);
    const at = upperBound(ns.order, job);
    if (at === ns.order.length) ns.order.push(job);
    else ns.order.splice(at, 0, job);
  }

  /** Move a job into `status` at instant `at`, keeping progress and dates consistent. */
  private enter(job: SandboxJob, status: JobStatus, at: number): void {
    if (job.status === 'Active') {
      job.tasksSucceeded = this.liveSucceeded(job, at);
      job.activeMs += Math.max(0, at - job.statusSince);
    }
    if (status === 'Complete') job.tasksSucceeded = job.totalTasks - job.tasksFailed;
    job.status = status;
    job.statusSince = at;
    job.suspendedDate = status === 'Suspended' ? at : null;
    if (TERMINAL.has(status)) job.terminationTime = at;
    this.schedule(job);
  }

  private schedule(job: SandboxJob): void {
    const version = (this.versions.get(job) ?? 0) + 1;
    this.versions.set(job, version);
    const next = automaticStep(job.status, job, this.pace);
    if (next) push(this.heap, { at: job.statusSince + next.afterMs, job, version });
  }

  private liveSucceeded(job: SandboxJob, at: number): number {
    const remaining = job.totalTasks - job.tasksFailed - job.tasksSucceeded;
    const step = automaticStep('Active', job, this.pace);
    if (!step || remaining <= 0) return job.tasksSucceeded;
    const fraction = Math.min(1, Math.max(0, at - job.statusSince) / step.afterMs);
    return job.tasksSucceeded + Math.floor(remaining * fraction);
  }

  /** A copy, so callers (tests, the wire) never mutate stored state. */
  private view(job: SandboxJob): SandboxJob {
    return { ...job, failureReasons: job.failureReasons.map((f) => ({ ...f })) };
  }
}

/** The namespace a seed entry belongs to; each provider's key is required. */
export function seedNamespace(s: SeedJob): string {
  const ns = s.provider === 'cos' ? s.appId : s.provider === 's3' ? s.account : s.region;
  if (!ns) {
    const field = s.provider === 'cos' ? 'appId' : s.provider === 's3' ? 'account' : 'region';
    throw new Error(`seed ${s.provider} job ${s.jobId ?? s.description ?? ''} needs "${field}"`);
  }
  return ns;
}

function defaultOperation(provider: SandboxJob['provider']): string {
  return provider === 'cos'
    ? 'COSPutObjectCopy'
    : provider === 'oss'
      ? 'PutObjectTagging'
      : 'S3PutObjectTagging';
}

const before = (a: SandboxJob, b: SandboxJob) =>
  a.creationTime < b.creationTime || (a.creationTime === b.creationTime && a.seq < b.seq);

/** First index whose job sorts after `job`. */
function upperBound(order: SandboxJob[], job: SandboxJob): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(job, order[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function indexOf(order: SandboxJob[], job: SandboxJob): number {
  // `job` is in `order`, so the slot just before its upper bound is it.
  return upperBound(order, job) - 1;
}

// A binary min-heap on `at`; ties keep no particular order (transitions of different jobs commute).
function push(heap: Due[], item: Due): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >>> 1;
    if (heap[parent]!.at <= item.at) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = item;
}

function pop(heap: Due[]): Due | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    const mAt = () => (m === i ? last.at : heap[m]!.at);
    if (l < heap.length && heap[l]!.at < mAt()) m = l;
    if (r < heap.length && heap[r]!.at < mAt()) m = r;
    if (m === i) break;
    heap[i] = heap[m]!;
    i = m;
  }
  heap[i] = last;
  return top;
}
