/**
 * The OSS batch-job API as data: each operation ⇄ its method and query, each XML answer ⇄ the
 * normalized shapes of `../types`, each error answer ⇄ a `ProviderError`. Pure, so that every
 * byte the client sends and every answer it understands can be pinned down without a network.
 *
 * Element names follow the OSS API reference: `UpdateJobStatusResult{JobId,Status,
 * StatusUpdateReason}`, `UpdateJobPriorityResult{JobId,Priority}`, `DescribeJobResult{Job{…}}`,
 * `ListJobsResult{Jobs{JobListDescriptor…},NextToken}`; `CreationTime` is epoch seconds.
 */
import { type ErrorKind, ProviderError } from '../errors';
import { MAX_LIST_RESULTS, MAX_PRIORITY, MAX_REASON_BYTES, OSS_DEFAULT_CANCEL_REASON } from '../rules';
import type { Job, JobPage, ListQuery, PriorityResult, RequestedJobStatus, StatusResult } from '../types';
import {
  type AnswerMeta,
  decodeErrorAnswer,
  type Element,
  failureReasonsOf,
  isElement,
  malformed as malformedAnswer,
  optional,
  priority as priorityOf,
  priorityResult,
  progressOf,
  reportOf,
  requiredText,
  rootElement,
  statusResult,
  xmlParser,
} from '../xml';
import { ossEncode } from './sign';

export interface OssOperation {
  method: 'GET' | 'POST';
  /** In the documented order (sub-resource first); `null` = valueless sub-resource. */
  query: Record<string, string | null>;
}

/** ListJobs `max-keys`: 1–1000 (OSS's default is 100). */
export const MAX_KEYS = MAX_LIST_RESULTS;
/** OSS's documented separator for several `batchJobStatuses` (`Active|Complete`). */
export const STATUS_SEPARATOR = '|';

const OK: AnswerMeta = { httpStatus: 200, requestId: null };
const parser = xmlParser(['ListJobsResult.Jobs.JobListDescriptor', 'ListJobsResult.Jobs.member']);
const malformed = (what: string, meta: AnswerMeta) => malformedAnswer('OSS', what, meta);
const root = (body: string, name: string, meta: AnswerMeta) => rootElement('OSS', parser, body, name, meta);
const required = (e: Element, name: string, where: string, meta: AnswerMeta) =>
  requiredText('OSS', e, name, where, meta);

// ── UpdateJobStatus: POST /?batchJobStatus&batchJobId=&requestedJobStatus=[&statusUpdateReason=]

export const UpdateJobStatus = {
  request(jobId: string, requested: RequestedJobStatus, reason: string | undefined): OssOperation {
    checkJobId(jobId);
    const query: Record<string, string | null> = {
      batchJobStatus: null,
      batchJobId: jobId,
      requestedJobStatus: requested,
    };
    // OSS takes 1–256 characters, so an empty reason is never sent empty; a Cancelled must carry
    // one (the reference), so it gets the documented default.
    const sent =
      reason !== undefined && reason !== ''
        ? reason
        : requested === 'Cancelled'
          ? OSS_DEFAULT_CANCEL_REASON
          : undefined;
    if (sent !== undefined) {
      if (Buffer.byteLength(sent) > MAX_REASON_BYTES)
        throw invalid(`statusUpdateReason: at most ${MAX_REASON_BYTES} bytes of UTF-8`);
      query.statusUpdateReason = sent;
    }
    return { method: 'POST', query };
  },
  response: (body: string, meta: AnswerMeta = OK): StatusResult => statusResult('OSS', parser, body, meta),
};

// ── UpdateJobPriority: POST /?batchJobPriority&batchJobId=&targetPriority=

export const UpdateJobPriority = {
  request(jobId: string, priority: number): OssOperation {
    checkJobId(jobId);
    if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
      throw invalid(`priority: must be an integer 0–${MAX_PRIORITY}`);
    return {
      method: 'POST',
      query: { batchJobPriority: null, batchJobId: jobId, targetPriority: String(priority) },
    };
  },
  response: (body: string, meta: AnswerMeta = OK): PriorityResult =>
    priorityResult('OSS', parser, body, meta),
};

// ── DescribeJob: GET /?batchJob&batchJobId=

export const DescribeJob = {
  request(jobId: string): OssOperation {
    checkJobId(jobId);
    return { method: 'GET', query: { batchJob: null, batchJobId: jobId } };
  },
  response(body: string, meta: AnswerMeta = OK): Job {
    const job = root(body, 'DescribeJobResult', meta).Job;
    if (!isElement(job)) throw malformed('a DescribeJobResult without Job', meta);
    return {
      ...toJob(job, 'DescribeJobResult.Job', meta),
      failureReasons: failureReasonsOf(job.FailureReasons),
      report: reportOf(job.Report),
      terminationDate: isoTime(job.TerminationDate),
    };
  },
};

// ── ListJobs: GET /?batchJob[&batchJobStatuses=A|B][&max-keys=][&continuation-token=]

export const ListJobs = {
  request(q: ListQuery): OssOperation {
    const query: Record<string, string | null> = { batchJob: null };
    if (q.statuses !== undefined && q.statuses.length > 0)
      query.batchJobStatuses = q.statuses.join(STATUS_SEPARATOR);
    if (q.maxResults !== undefined)
      query['max-keys'] = String(Math.min(MAX_KEYS, Math.max(1, Math.trunc(q.maxResults))));
    if (q.nextToken !== undefined && q.nextToken !== '') query['continuation-token'] = q.nextToken;
    return { method: 'GET', query };
  },
  response(body: string, meta: AnswerMeta = OK): JobPage {
    const r = root(body, 'ListJobsResult', meta);
    const jobs: Job[] = [];
    // `<Jobs></Jobs>` parses as a (blank) string — no jobs, not an error.
    if (isElement(r.Jobs)) {
      for (const list of [r.Jobs.JobListDescriptor, r.Jobs.member]) {
        if (!Array.isArray(list)) continue;
        for (const j of list) {
          if (!isElement(j)) throw malformed('a ListJobsResult job that is not a job', meta);
          jobs.push(toJob(j, 'ListJobsResult job', meta));
        }
      }
    }
    return { jobs, nextToken: optional(r.NextToken) };
  },
};

/**
 * The URL query string, encoded exactly as the signer encodes it (RFC 3986), in the operation's
 * order: `batchJobStatus&batchJobId=MzRj%3D&…`. Ids may hold `=`, `+`, `/`: they are escaped,
 * never refused.
 */
export function encodeQuery(query: Record<string, string | null>): string {
  let out = '';
  for (const k in query) {
    const v = query[k];
    if (out !== '') out += '&';
    out += v === null || v === undefined ? ossEncode(k) : `${ossEncode(k)}=${encodeValue(k, v)}`;
  }
  return out;
}

function encodeValue(name: string, v: string): string {
  try {
    return ossEncode(v);
  } catch {
    // encodeURIComponent refuses lone surrogates; they have no UTF-8 form to send.
    throw invalid(`${name}: must be well-formed Unicode text`);
  }
}

function checkJobId(jobId: string): void {
  if (jobId === '') throw invalid('jobId: must not be empty');
}

function invalid(message: string): ProviderError {
  return new ProviderError({ kind: 'invalid', code: 'InvalidArgument', message });
}

function toJob(j: Element, where: string, meta: AnswerMeta): Job {
  return {
    jobId: required(j, 'JobId', where, meta),
    status: required(j, 'Status', where, meta),
    priority: priorityOf(j.Priority),
    description: optional(j.Description),
    creationTime: isoTime(j.CreationTime),
    statusUpdateReason: optional(j.StatusUpdateReason),
    progress: progressOf(j.ProgressSummary),
  };
}

const DIGITS = /^\d{1,16}$/;

/** OSS returns epoch seconds (`1749983400`); the normalized Job carries ISO 8601. */
export function isoTime(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const v = raw.trim();
  if (v === '') return null;
  if (!DIGITS.test(v)) return v; // already a date string: pass it on as returned
  const n = Number(v);
  // 1e11 seconds is the year 5138: a number that large is milliseconds.
  const d = new Date(n >= 1e11 ? n : n * 1000);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

// ── errors ──────────────────────────────────────────────────────────────────────────────────

/**
 * OSS codes the controller decides on. A refused status change has no dedicated OSS code in the
 * API reference; it is answered as InvalidRequest (as COS does), and a 409 counts as one too.
 * Codes not listed fall back to `kindForStatus` (5xx server, 429 / SlowDown throttled, …).
 */
export const OSS_ERROR_KINDS: Readonly<Record<string, ErrorKind>> = {
  NoSuchJob: 'not-found',
  InvalidRequest: 'conflict',
  InvalidArgument: 'invalid',
  AccessDenied: 'auth',
  SignatureDoesNotMatch: 'auth',
  InvalidAccessKeyId: 'auth',
  InvalidSecurityToken: 'auth',
  SecurityTokenExpired: 'auth',
  SlowDown: 'throttled',
  Throttling: 'throttled',
  TooManyRequests: 'throttled',
};

const ERRORS = { provider: 'OSS', parser, requestIdHeader: 'x-oss-request-id', kinds: OSS_ERROR_KINDS };

/** An error answer (any non-2xx) as a `ProviderError` with OSS's Code, EC and request id. */
export function decodeError(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): ProviderError {
  return decodeErrorAnswer(ERRORS, status, headers, body);
}
