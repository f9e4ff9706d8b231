/**
 * The sandbox's own shapes: a stored job, the namespace it lives in, a seed entry, and what one
 * wire operation receives. Provider wire types stay in each provider's folder.
 */
import type { JobStatus, ProviderName, Target } from '../../providers/types';
import type { JobStore } from './store';

/**
 * Where jobs live. Each provider namespaces by what always reaches the sandbox on the wire: COS by
 * APPID (`x-cos-appid`), S3 by account id (`x-amz-account-id`), OSS by the region in the
 * signature's scope. Within a namespace, a request sees only the jobs of its target's other parts
 * as far as the wire carries them — like the real services, where a wrong region or account finds
 * no job: `region` (S3: the signature's scope; COS: the `{uin}.cos-control.{region}.` host) and
 * `account` (COS: the UIN in that host). Absent means the request does not say (a COS request to
 * a bare loopback address); a job that never learnt its region or account matches any.
 */
export interface Scope {
  provider: ProviderName;
  namespace: string;
  region?: string | null | undefined;
  account?: string | null | undefined;
}

/** Whether a job belongs to every part of the target that the request named. */
export function inScope(job: Pick<SandboxJob, 'region' | 'account'>, scope: Scope): boolean {
  return (
    (!scope.region || !job.region || job.region === scope.region) &&
    (!scope.account || !job.account || job.account === scope.account)
  );
}

/** The namespace a transition's target lands in, scoped by every part of the target. */
export function scopeOf(target: Target): Scope {
  const namespace =
    target.provider === 'cos' ? target.appId : target.provider === 's3' ? target.account : target.region;
  if (!namespace) throw new Error(`a ${target.provider} target needs its ${namespaceField(target.provider)}`);
  return {
    provider: target.provider,
    namespace,
    region: target.region,
    account: target.provider === 'cos' ? (target.account ?? null) : null,
  };
}

const namespaceField = (p: ProviderName) => (p === 'cos' ? 'appId' : p === 's3' ? 'account' : 'region');

export interface JobFailure {
  code: string;
  reason: string;
}

export interface SandboxJob {
  provider: ProviderName;
  namespace: string;
  jobId: string;
  status: JobStatus;
  priority: number;
  description: string;
  /** Epoch ms. */
  creationTime: number;
  /** Epoch ms at which the job entered `status`: the lifecycle's clock for this job. */
  statusSince: number;
  statusUpdateReason: string | null;
  confirmationRequired: boolean;
  /** Epoch ms the job reached a terminal status. */
  terminationTime: number | null;
  /** Epoch ms the job was suspended, while it is. */
  suspendedDate: number | null;
  totalTasks: number;
  tasksSucceeded: number;
  tasksFailed: number;
  /** Time spent Active before the current status (ms), for progress and S3's timers. */
  activeMs: number;
  failureReasons: JobFailure[];
  /** The operation's element name as the provider spells it (`S3PutObjectTagging`, …). */
  operation: string;
  clientRequestToken: string | null;
  /** The target region the job was created or seeded in (S3: also the job ARN's); null: any. */
  region: string | null;
  /** COS: the UIN the job was created or seeded under; null: any. (S3's account is its namespace.) */
  account?: string | null;
  /** Insertion order: ties on creationTime list newest-inserted first. */
  seq: number;
}

/** A job in a seed file: everything optional that has a sensible default. */
export interface SeedJob {
  provider: ProviderName;
  /** COS: required (the namespace). */
  appId?: string;
  /** S3: required (the namespace). COS: the UIN; requests naming another UIN do not see the job. */
  account?: string;
  /** OSS: required (the namespace). COS/S3: requests naming another region do not see the job. */
  region?: string;
  /** Generated in the provider's format when absent. */
  jobId?: string;
  status: JobStatus;
  priority?: number;
  description?: string;
  /** Created this many minutes before the sandbox loads the seed (so `olderThanMinutes` selectors match). */
  ageMinutes?: number;
  /** Or an absolute creation time (ISO 8601). */
  creationTime?: string;
  confirmationRequired?: boolean;
  statusUpdateReason?: string;
  totalTasks?: number;
  tasksSucceeded?: number;
  tasksFailed?: number;
  operation?: string;
}

/** What one wire operation receives: already authenticated and namespaced. */
export interface OperationRequest {
  scope: Scope;
  /** From the path (COS, S3) or `batchJobId` (OSS); already percent-decoded. */
  jobId: string | undefined;
  /** Decoded query parameters; a bare key (`?batchJob`) maps to ''. Repeated keys keep every value. */
  query: QueryParams;
  body: string;
  /** The target's region, where the request carried one (OSS, S3: the signature; COS: the host). */
  region: string | null;
}

export interface QueryParams {
  get(name: string): string | undefined;
  getAll(name: string): string[];
  has(name: string): boolean;
}

/** An operation: validate, act on the store, return the response body (XML). */
export type Operation = (req: OperationRequest, store: JobStore) => string;
