/**
 * The COS job-control wire format, one operation per block: how each call becomes an HTTP request
 * (method, path, query) and how its XML answer becomes a normalized `Job` / result, and how an
 * error answer becomes a `ProviderError` carrying COS's own `Code`. Pure: no I/O, no signing.
 * Element names follow the COS API pages (UpdateJobStatus, UpdateJobPriority, DescribeJob, ListJobs).
 */
import { STATUS_CODES } from 'node:http';
import { type X2jOptions, XMLParser } from 'fast-xml-parser';
import { type ErrorKind, errorKind, kindForStatus, ProviderError } from '../errors';
import { readFlatXml } from '../flat-xml';
import type { Job, JobPage, JobStatus, PriorityResult, RequestedJobStatus, StatusResult } from '../types';
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

const MAX_PRIORITY = 2147483647;

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

const PARSER_OPTIONS: X2jOptions = {
  ignoreAttributes: true,
  ignoreDeclaration: true,
  // Ids such as "007" and reasons such as " 42 " must come back exactly as sent.
  parseTagValue: false,
  trimValues: false,
  // Entities are decoded by `text()` below, only in the few values read: the parser's own
  // numeric-reference support (`htmlEntities`) costs several times the rest of the parse.
  processEntities: false,
  isArray: (_name, jpath) => jpath === 'ListJobsResult.Jobs.member',
};
/** For the small Update*Result answers on the hot path. */
const parser = new XMLParser(PARSER_OPTIONS);
/**
 * For DescribeJob / ListJobs, whose jobs carry manifest, operation and report subtrees that are
 * never read: left unparsed, they halve the parse (the stop-node check would slow the small ones).
 */
const jobParser = new XMLParser({
  ...PARSER_OPTIONS,
  stopNodes: ['*.Manifest', '*.Operation', '*.Report', '*.ProgressSummary', '*.FailureReasons'],
});

type Element = Record<string, unknown>;

function parseXml(body: string, p: XMLParser = parser): Element | undefined {
  // The small answers (Update*Result, Error) are flat: read without the general parser.
  if (p === parser) {
    const flat = readFlatXml(body);
    if (flat !== undefined) return flat;
  }
  try {
    const doc: unknown = p.parse(body);
    return typeof doc === 'object' && doc !== null ? (doc as Element) : undefined;
  } catch {
    return undefined;
  }
}

const isElement = (v: unknown): v is Element => typeof v === 'object' && v !== null && !Array.isArray(v);

const ENTITY = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(lt|gt|amp|quot|apos));/g;
const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function decodeEntity(whole: string, hex?: string, dec?: string, name?: string): string {
  if (name !== undefined) return NAMED[name] ?? whole;
  const cp = hex !== undefined ? Number.parseInt(hex, 16) : Number(dec);
  return cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : whole;
}

/** Character data with XML's five entities and numeric references (`&#34;`, `&#xA;`) decoded. */
function text(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  return v.includes('&') ? v.replace(ENTITY, decodeEntity) : v;
}
/** Optional text: an absent or empty element is `null`. */
const optional = (v: unknown): string | null => {
  const s = text(v);
  return s === '' ? null : s;
};

const INTEGER = /^\s*\d{1,10}\s*$/;
function integer(v: unknown): number | null {
  if (typeof v !== 'string' || !INTEGER.test(v)) return null;
  const n = Number(v);
  return n <= MAX_PRIORITY ? n : null;
}

function malformed(what: string, requestId: string | null): ProviderError {
  // A 2xx answer we cannot read: most likely a proxy or a truncated body, so worth another try.
  return new ProviderError({
    kind: 'server',
    code: 'MalformedResponse',
    message: `COS answered 2xx with ${what}`,
    httpStatus: 200,
    requestId,
  });
}

function root(body: string, name: string, requestId: string | null, p: XMLParser = parser): Element {
  const r = parseXml(body, p)?.[name];
  if (r === '') return {}; // `<ListJobsResult></ListJobsResult>`: present, with nothing in it
  if (!isElement(r)) throw malformed(`no <${name}> document`, requestId);
  return r;
}

function requiredText(e: Element, name: string, where: string, requestId: string | null): string {
  const v = text(e[name]);
  if (v === null || v === '') throw malformed(`a ${where} without ${name}`, requestId);
  return v;
}

function jobOf(e: Element, where: string, requestId: string | null): Job {
  return {
    jobId: requiredText(e, 'JobId', where, requestId),
    status: requiredText(e, 'Status', where, requestId),
    priority: integer(e.Priority),
    description: optional(e.Description),
    creationTime: optional(e.CreationTime),
    statusUpdateReason: optional(e.StatusUpdateReason),
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
  response(body: string, requestId: string | null = null): StatusResult {
    const r = root(body, 'UpdateJobStatusResult', requestId);
    return {
      jobId: requiredText(r, 'JobId', 'UpdateJobStatusResult', requestId),
      status: requiredText(r, 'Status', 'UpdateJobStatusResult', requestId),
      statusUpdateReason: optional(r.StatusUpdateReason),
    };
  },
};

// ---------------------------------------------------------------------------------------------
// UpdateJobPriority: POST /jobs/{JobId}/priority?priority=

export const UpdateJobPriority = {
  request(jobId: string, priority: number): CosHttpCall {
    if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
      throw invalid('priority must be an integer 0–2147483647');
    return { method: 'POST', ...jobPath(jobId, '/priority'), query: { priority: String(priority) } };
  },
  response(body: string, requestId: string | null = null): PriorityResult {
    const r = root(body, 'UpdateJobPriorityResult', requestId);
    const priority = integer(r.Priority);
    if (priority === null) throw malformed('an UpdateJobPriorityResult without a valid Priority', requestId);
    return { jobId: requiredText(r, 'JobId', 'UpdateJobPriorityResult', requestId), priority };
  },
};

// ---------------------------------------------------------------------------------------------
// DescribeJob: GET /jobs/{JobId}

export const DescribeJob = {
  request(jobId: string): CosHttpCall {
    return { method: 'GET', ...jobPath(jobId, ''), query: {} };
  },
  response(body: string, requestId: string | null = null): Job {
    const job = root(body, 'DescribeJobResult', requestId, jobParser).Job;
    if (!isElement(job)) throw malformed('a DescribeJobResult without Job', requestId);
    return jobOf(job, 'DescribeJobResult.Job', requestId);
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
      if (!Number.isInteger(q.maxResults) || q.maxResults < 1 || q.maxResults > 1000)
        throw invalid('maxResults must be an integer 1–1000');
      query.maxResults = String(q.maxResults);
    }
    if (q.nextToken !== undefined && q.nextToken !== '') {
      if (!q.nextToken.isWellFormed()) throw invalid('nextToken is not well-formed Unicode');
      query.nextToken = q.nextToken;
    }
    return { method: 'GET', pathname: '/jobs', path: '/jobs', query };
  },
  response(body: string, requestId: string | null = null): JobPage {
    const r = root(body, 'ListJobsResult', requestId, jobParser);
    const members = isElement(r.Jobs) ? r.Jobs.member : undefined;
    const jobs = Array.isArray(members)
      ? members.map((m, i) => {
          if (!isElement(m))
            throw malformed(`a ListJobsResult.Jobs.member[${i}] that is not a job`, requestId);
          return jobOf(m, `ListJobsResult.Jobs.member[${i}]`, requestId);
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

export function cosErrorKind(code: string, httpStatus: number): ErrorKind {
  return errorKind(COS_ERROR_KINDS, code, httpStatus);
}

const NOT_LETTERS = /[^A-Za-z]/g;
/** Error messages end up in outcomes and logs: a misbehaving endpoint must not flood them. */
const MAX_MESSAGE_CHARS = 1024;
const clip = (s: string): string => (s.length > MAX_MESSAGE_CHARS ? s.slice(0, MAX_MESSAGE_CHARS) + '…' : s);

function headerText(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? null : s;
}

/** An error answer (any non-2xx) as a `ProviderError`, also when the body is not COS's XML. */
export function decodeError(
  httpStatus: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): ProviderError {
  const e = parseXml(body)?.Error;
  const headerRequestId = headerText(headers['x-cos-request-id']);
  const code = isElement(e) ? optional(e.Code) : null;
  if (isElement(e) && code !== null) {
    return new ProviderError({
      kind: cosErrorKind(code, httpStatus),
      code,
      message: clip(optional(e.Message) ?? code),
      httpStatus,
      requestId: optional(e.RequestId) ?? headerRequestId,
    });
  }
  // A proxy's HTML page, an empty body, …: the status is all there is to go on.
  const reason = STATUS_CODES[httpStatus];
  const fallback = reason ? reason.replace(NOT_LETTERS, '') : `Http${httpStatus}`;
  return new ProviderError({
    kind: kindForStatus(httpStatus),
    code: fallback,
    message: `HTTP ${httpStatus}${reason ? ' ' + reason : ''} without a COS error document`,
    httpStatus,
    requestId: headerRequestId,
  });
}
