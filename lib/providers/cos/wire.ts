/**
 * The COS job-control wire format, one operation per block: how each call becomes an HTTP request
 * (method, path, query) and how its XML answer becomes a normalized `Job` / result, and how an
 * error answer becomes a `ProviderError` carrying COS's own `Code`. Pure: no I/O, no signing.
 * Element names follow the COS API pages (UpdateJobStatus, UpdateJobPriority, DescribeJob, ListJobs).
 */
import { type ErrorKind, errorKind, ProviderError } from '../errors';
import { MAX_LIST_RESULTS, MAX_PRIORITY } from '../rules';
import type { Job, JobPage, JobStatus, PriorityResult, RequestedJobStatus, StatusResult } from '../types';
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
  requiredText as required,
  rootElement,
  statusResult,
  xmlParser,
} from '../xml';
import { rfc3986 } from './sign';

/** One COS call on the wire. */
export interface CosHttpCall {
  method: 'GET' | 'POST';
  /** Decoded path: what the signature covers. */
  pathname: string;
  /** The same path as sent: each segment RFC 3986-encoded. */
  path: string;
  /** In the order sent; the signature sorts. */
  query: Record<string, string>;
}

/** `?k=v&…` with RFC 3986 encoding (the encoding the signature assumes), or `''`. */
export function queryString(query: Record<string, string>): string {
  let s = '';
  for (const k in query) s += (s === '' ? '?' : '&') + rfc3986(k) + '=' + rfc3986(query[k] ?? '');
  return s;
}

function invalid(message: string): ProviderError {
  return new ProviderError({ kind: 'invalid', code: 'InvalidArgument', message });
}

function jobPath(jobId: string, suffix: string): { pathname: string; path: string } {
  if (jobId === '') throw invalid('jobId must not be empty');
  if (!jobId.isWellFormed()) throw invalid('jobId is not well-formed Unicode');
  return { pathname: '/jobs/' + jobId + suffix, path: '/jobs/' + rfc3986(jobId) + suffix };
}

// ---------------------------------------------------------------------------------------------
// XML

const OK: AnswerMeta = { httpStatus: 200, requestId: null };
const parser = xmlParser(['ListJobsResult.Jobs.member']);
/**
 * For DescribeJob / ListJobs, whose jobs carry manifest, operation and report subtrees that are
 * never read: left unparsed, they halve the parse.
 */
const jobParser = xmlParser(
  ['ListJobsResult.Jobs.member'],
  ['*.Manifest', '*.Operation', '*.Report', '*.FailureReasons'],
);

/** DescribeJob reads the failure reasons and the report too (one job: no cost to speak of). */
const describeParser = xmlParser(
  ['DescribeJobResult.Job.FailureReasons.JobFailure'],
  ['*.Manifest', '*.Operation'],
);

const malformed = (what: string, meta: AnswerMeta) => malformedAnswer('COS', what, meta);
const root = (body: string, name: string, meta: AnswerMeta, p = parser) =>
  rootElement('COS', p, body, name, meta);
const requiredText = (e: Element, name: string, where: string, meta: AnswerMeta) =>
  required('COS', e, name, where, meta);

function jobOf(e: Element, where: string, meta: AnswerMeta): Job {
  return {
    jobId: requiredText(e, 'JobId', where, meta),
    status: requiredText(e, 'Status', where, meta),
    priority: priorityOf(e.Priority),
    description: optional(e.Description),
    creationTime: optional(e.CreationTime),
    statusUpdateReason: optional(e.StatusUpdateReason),
    progress: progressOf(e.ProgressSummary),
  };
}

// ---------------------------------------------------------------------------------------------
// UpdateJobStatus: POST /jobs/{JobId}/status?requestedJobStatus=&statusUpdateReason=

export const UpdateJobStatus = {
  request(jobId: string, requested: RequestedJobStatus, reason: string | undefined): CosHttpCall {
    const query: Record<string, string> = { requestedJobStatus: requested };
    // An empty reason is not sent at all (the contract; S3 and OSS refuse an empty one).
    if (reason !== undefined && reason !== '') {
      if (!reason.isWellFormed()) throw invalid('statusUpdateReason is not well-formed Unicode');
      query.statusUpdateReason = reason;
    }
    return { method: 'POST', ...jobPath(jobId, '/status'), query };
  },
  response: (body: string, meta: AnswerMeta = OK): StatusResult => statusResult('COS', parser, body, meta),
};

// ---------------------------------------------------------------------------------------------
// UpdateJobPriority: POST /jobs/{JobId}/priority?priority=

export const UpdateJobPriority = {
  request(jobId: string, priority: number): CosHttpCall {
    if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
      throw invalid(`priority must be an integer 0–${MAX_PRIORITY}`);
    return { method: 'POST', ...jobPath(jobId, '/priority'), query: { priority: String(priority) } };
  },
  response: (body: string, meta: AnswerMeta = OK): PriorityResult =>
    priorityResult('COS', parser, body, meta),
};

// ---------------------------------------------------------------------------------------------
// DescribeJob: GET /jobs/{JobId}

export const DescribeJob = {
  request(jobId: string): CosHttpCall {
    return { method: 'GET', ...jobPath(jobId, ''), query: {} };
  },
  response(body: string, meta: AnswerMeta = OK): Job {
    const job = root(body, 'DescribeJobResult', meta, describeParser).Job;
    if (!isElement(job)) throw malformed('a DescribeJobResult without Job', meta);
    return {
      ...jobOf(job, 'DescribeJobResult.Job', meta),
      failureReasons: failureReasonsOf(job.FailureReasons),
      report: reportOf(job.Report),
      terminationDate: optional(job.TerminationDate),
    };
  },
};

// ---------------------------------------------------------------------------------------------
// ListJobs: GET /jobs?jobStatuses=&maxResults=&nextToken=
// COS documents `jobStatuses` as one status (a String); the client asks for one status per request.

export interface ListJobsQuery {
  status?: JobStatus | undefined;
  /** 1–1000 (COS's default and maximum is 1000). */
  maxResults?: number | undefined;
  nextToken?: string | undefined;
}

export const ListJobs = {
  request(q: ListJobsQuery): CosHttpCall {
    const query: Record<string, string> = {};
    if (q.status !== undefined) query.jobStatuses = q.status;
    if (q.maxResults !== undefined) {
      if (!Number.isInteger(q.maxResults) || q.maxResults < 1 || q.maxResults > MAX_LIST_RESULTS)
        throw invalid(`maxResults must be an integer 1–${MAX_LIST_RESULTS}`);
      query.maxResults = String(q.maxResults);
    }
    if (q.nextToken !== undefined && q.nextToken !== '') {
      if (!q.nextToken.isWellFormed()) throw invalid('nextToken is not well-formed Unicode');
      query.nextToken = q.nextToken;
    }
    return { method: 'GET', pathname: '/jobs', path: '/jobs', query };
  },
  response(body: string, meta: AnswerMeta = OK): JobPage {
    const r = root(body, 'ListJobsResult', meta, jobParser);
    const members = isElement(r.Jobs) ? r.Jobs.member : undefined;
    const jobs = Array.isArray(members)
      ? members.map((m, i) => {
          if (!isElement(m)) throw malformed(`a ListJobsResult.Jobs.member[${i}] that is not a job`, meta);
          return jobOf(m, `ListJobsResult.Jobs.member[${i}]`, meta);
        })
      : [];
    // COS returns "the last JobId of the page" as NextToken; an empty page ends the listing even
    // if a token came back, so that a caller looping on nextToken always stops.
    const token = optional(r.NextToken);
    return { jobs, nextToken: jobs.length > 0 ? token : null };
  },
};

// ---------------------------------------------------------------------------------------------
// Errors: <Error><Code/><Message/><RequestId/>…</Error>

/** COS's documented codes and what the controller should make of them; others go by HTTP status. */
export const COS_ERROR_KINDS: Readonly<Record<string, ErrorKind>> = {
  InvalidArgument: 'invalid',
  // "Error with the job status change" / "The specified job has already been completed".
  InvalidRequest: 'conflict',
  NoSuchJob: 'not-found',
  AccessDenied: 'auth',
  SignatureDoesNotMatch: 'auth',
  InvalidAccessKeyId: 'auth',
  SlowDown: 'throttled',
};

export function cosErrorKind(code: string, httpStatus: number, message = ''): ErrorKind {
  return errorKind(COS_ERROR_KINDS, code, httpStatus, message);
}

const ERRORS = { provider: 'COS', parser, requestIdHeader: 'x-cos-request-id', kinds: COS_ERROR_KINDS };

/** An error answer (any non-2xx) as a `ProviderError`, also when the body is not COS's XML. */
export function decodeError(
  httpStatus: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): ProviderError {
  return decodeErrorAnswer(ERRORS, httpStatus, headers, body);
}
