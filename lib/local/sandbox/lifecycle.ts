/**
 * The batch-job lifecycle as the providers document it, as two tables: how a job moves on its own
 * (`AUTOMATIC`), and which status changes a caller may request (`decideStatusChange`). The store
 * applies them; the wire operations only translate a refusal into the provider's error.
 *
 *   New → Preparing → Suspended (confirmation required) | Ready → Active → Completing → Complete
 *   Pausing → Paused;  Cancelling → Cancelled;  Failing → Failed
 */
import type { JobStatus, ProviderName } from '../../providers/types';

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['Complete', 'Cancelled', 'Failed']);

/** The fewest pace steps an `Active` job runs: long enough that transitions meet it moving. */
export const ACTIVE_STEPS = 5;
/** Tasks an Active job completes per pace step, so a big job stays Active for a realistic while. */
export const TASKS_PER_STEP = 500;

/** S3 documents that a job left Suspended for 30 days fails; the sandbox uses the same default. */
export const DEFAULT_SUSPENDED_TIMEOUT_MS = 30 * 24 * 60 * 60 * 1000;

/** What of a job decides where and when it moves on. */
export interface LifecycleJob {
  confirmationRequired: boolean;
  totalTasks: number;
  tasksSucceeded: number;
  tasksFailed: number;
}

export interface AutomaticStep {
  /** The status a job in this status moves to by itself; a function where the job decides. */
  next: JobStatus | ((job: LifecycleJob) => JobStatus);
  /** How many pace steps it stays; `suspended` = the Suspended timeout instead of the pace. */
  after: number | 'suspended' | ((job: LifecycleJob) => number);
}

/** Active lasts ACTIVE_STEPS, or longer when the tasks left need it at TASKS_PER_STEP. */
export function activeSteps(job: LifecycleJob): number {
  const remaining = Math.max(0, job.totalTasks - job.tasksSucceeded - job.tasksFailed);
  return Math.max(ACTIVE_STEPS, Math.ceil(remaining / TASKS_PER_STEP));
}

export const AUTOMATIC: Readonly<Record<JobStatus, AutomaticStep | null>> = {
  New: { next: 'Preparing', after: 1 },
  Preparing: { next: (job) => (job.confirmationRequired ? 'Suspended' : 'Ready'), after: 1 },
  Suspended: { next: 'Failed', after: 'suspended' },
  Ready: { next: 'Active', after: 1 },
  Active: { next: 'Completing', after: activeSteps },
  Completing: { next: 'Complete', after: 1 },
  Pausing: { next: 'Paused', after: 1 },
  // Nothing in the control API resumes a paused job: it waits for a cancel.
  Paused: null,
  Cancelling: { next: 'Cancelled', after: 1 },
  Failing: { next: 'Failed', after: 1 },
  Complete: null,
  Cancelled: null,
  Failed: null,
};

export interface Pace {
  /** One lifecycle step in ms; `null` = frozen (only the Suspended timeout still runs). */
  stepMs: number | null;
  suspendedTimeoutMs: number;
}

/** When (ms after entering `status`) and where a job moves on its own, or null if it waits. */
export function automaticStep(
  status: JobStatus,
  job: LifecycleJob,
  pace: Pace,
): { status: JobStatus; afterMs: number } | null {
  const step = AUTOMATIC[status];
  if (!step) return null;
  const next = typeof step.next === 'function' ? step.next(job) : step.next;
  if (step.after === 'suspended') {
    return Number.isFinite(pace.suspendedTimeoutMs)
      ? { status: next, afterMs: pace.suspendedTimeoutMs }
      : null;
  }
  if (pace.stepMs === null) return null;
  const steps = typeof step.after === 'function' ? step.after(job) : step.after;
  return { status: next, afterMs: steps * pace.stepMs };
}

export const REQUESTABLE = ['Ready', 'Cancelled'] as const;
export type Requestable = (typeof REQUESTABLE)[number];

/**
 * Why a requested change is refused: `completed` for a job that already finished successfully
 * (COS answers it with its own message), `transition` for every other disallowed pair.
 */
export type StatusDecision =
  | { ok: true; status: JobStatus }
  | { ok: false; reason: 'completed' | 'transition' };

/** Where Ready is accepted: Suspended everywhere; OSS documents Preparing too. */
const READY_FROM: Readonly<Record<ProviderName, ReadonlySet<JobStatus>>> = {
  cos: new Set(['Suspended']),
  s3: new Set(['Suspended']),
  oss: new Set(['Suspended', 'Preparing']),
};

/** Cancel is refused from terminal statuses and from the ones already ending. */
const CANCEL_REFUSED: ReadonlySet<JobStatus> = new Set([...TERMINAL, 'Cancelling', 'Completing', 'Failing']);

/**
 * The answer to `requestedJobStatus` for a job in `current`. A cancel lands in Cancelling (the
 * providers answer the request with it, and the job reaches Cancelled one step later).
 */
export function decideStatusChange(
  provider: ProviderName,
  current: JobStatus,
  requested: Requestable,
): StatusDecision {
  if (requested === 'Ready') {
    if (READY_FROM[provider].has(current)) return { ok: true, status: 'Ready' };
  } else if (!CANCEL_REFUSED.has(current)) {
    return { ok: true, status: 'Cancelling' };
  }
  return { ok: false, reason: current === 'Complete' ? 'completed' : 'transition' };
}

export const isRequestable = (s: string): s is Requestable => (REQUESTABLE as readonly string[]).includes(s);
