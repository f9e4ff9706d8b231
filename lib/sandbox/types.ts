/**
 * The sandbox's own shapes: a stored job, the namespace it lives in, a seed entry, and what one
 * wire operation receives. Provider wire types stay in each provider's folder.
 */
import type { JobStatus, ProviderName, Target } from '../providers/types';
import type { JobStore } from './store';

/**
 * Where jobs live. Each provider namespaces by what reaches the sandbox on the wire: COS by APPID
 * (`x-cos-appid`; the host is loopback so region and UIN are not on the wire), S3 by account id
 * (`x-amz-account-id`), OSS by the region in the signature's scope.
 */
export interface Scope {
  provider: ProviderName;
  namespace: string;
}

/** The namespace a transition's target lands in. */
export function scopeOf(target: Target): Scope {
  const namespace =
    target.provider === 'cos' ? target.appId : target.provider === 's3' ? target.account : target.region;
  if (!namespace) throw new Error(`a ${target.provider} target needs its ${namespaceField(target.provider)}`);
  return { provider: target.provider, namespace };
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
  /** S3: the region from the creating request's signature, for the job ARN. */
  region: string | null;
  /** Insertion order: ties on creationTime list newest-inserted first. */
  seq: number;
}

/** A job in a seed file: everything optional that has a sensible default. */
export interface SeedJob {
  provider: ProviderName;
  /** COS: required (the namespace). */
  appId?: string;
  /** S3: required (the namespace). COS: the UIN, informational. */
  account?: string;
  /** OSS: required (the namespace). COS/S3: informational (S3 uses it for the job ARN). */
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
  /** The signature scope's region, where the request carried one (OSS, S3). */
  region: string | null;
}

export interface QueryParams {
  get(name: string): string | undefined;
  getAll(name: string): string[];
  has(name: string): boolean;
}

/** An operation: validate, act on the store, return the response body (XML). */
export type Operation = (req: OperationRequest, store: JobStore) => string;
