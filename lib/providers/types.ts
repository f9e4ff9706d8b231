/**
 * The one interface the controller sees. Each provider (cos, oss, s3) implements `JobControl`
 * in its own folder with the same three pieces: `sign.ts` (pure), `wire.ts` (operation ⇄ HTTP,
 * XML ⇄ Job) and `client.ts` (wires them to the shared transport).
 */

export const PROVIDERS = ['cos', 'oss', 's3'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const JOB_STATUSES = [
  'New',
  'Preparing',
  'Suspended',
  'Ready',
  'Active',
  'Pausing',
  'Paused',
  'Completing',
  'Complete',
  'Cancelling',
  'Cancelled',
  'Failing',
  'Failed',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const REQUESTED_STATUSES = ['Ready', 'Cancelled'] as const;
export type RequestedJobStatus = (typeof REQUESTED_STATUSES)[number];

/** Where a job lives: enough to build the control host and the account headers. */
export interface Target {
  provider: ProviderName;
  region: string;
  /** COS: UIN; S3: 12-digit account id; OSS: optional. */
  account?: string | undefined;
  /** COS only: the APPID sent as `x-cos-appid`. */
  appId?: string | undefined;
}

/** A job as every provider's DescribeJob / ListJobs is normalized to. */
export interface Job {
  jobId: string;
  status: string;
  priority: number | null;
  description: string | null;
  /** ISO 8601, as the provider returned it. */
  creationTime: string | null;
  statusUpdateReason: string | null;
  /**
   * Task counts from the job's `ProgressSummary` (DescribeJob and ListJobs of every provider carry
   * one); `null` when the answer has none. Optional so that hand-built jobs may leave it out.
   */
  progress?: TaskProgress | null;
  /** DescribeJob only: the provider's `FailureReasons` (COS, OSS, S3 all carry them). */
  failureReasons?: JobFailure[];
  /** DescribeJob only: where the completion report is written (`<bucket>/<prefix>`), when enabled. */
  report?: string | null;
  /** When the job ended (`TerminationDate`), ISO 8601; null while it runs. */
  terminationDate?: string | null;
}

export interface JobFailure {
  code: string;
  reason: string;
}

export interface TaskProgress {
  total: number;
  succeeded: number;
  failed: number;
}

export interface ListQuery {
  statuses?: readonly JobStatus[] | undefined;
  maxResults?: number | undefined;
  nextToken?: string | undefined;
}

export interface JobPage {
  jobs: Job[];
  nextToken: string | null;
}

export interface StatusResult {
  jobId: string;
  status: string;
  statusUpdateReason: string | null;
}

export interface PriorityResult {
  jobId: string;
  priority: number;
}

export interface CallOptions {
  /** Per-request timeout; the transport aborts and throws a retryable `Timeout`. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface JobControl {
  readonly provider: ProviderName;
  updateStatus(
    target: Target,
    jobId: string,
    requested: RequestedJobStatus,
    reason: string | undefined,
    opts?: CallOptions,
  ): Promise<StatusResult>;
  updatePriority(
    target: Target,
    jobId: string,
    priority: number,
    opts?: CallOptions,
  ): Promise<PriorityResult>;
  describe(target: Target, jobId: string, opts?: CallOptions): Promise<Job>;
  list(target: Target, query: ListQuery, opts?: CallOptions): Promise<JobPage>;
}

/** Long-lived or temporary keys; `expiration` (epoch ms) makes a cache refresh before it. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: number | undefined;
}

export type CredentialSource = () => Promise<Credentials>;
