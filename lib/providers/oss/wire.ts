/**
 * The OSS batch-job API as data: each operation ⇄ its method and query, each XML answer ⇄ the
 * normalized shapes of `../types`, each error answer ⇄ a `ProviderError`. Pure, so that every
 * byte the client sends and every answer it understands can be pinned down without a network.
 *
 * Element names follow the OSS API reference: `UpdateJobStatusResult{JobId,Status,
 * StatusUpdateReason}`, `UpdateJobPriorityResult{JobId,Priority}`, `DescribeJobResult{Job{…}}`,
 * `ListJobsResult{Jobs{JobListDescriptor…},NextToken}`; `CreationTime` is epoch seconds.
 */
import { STATUS_CODES } from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import { type ErrorKind, errorKind, ProviderError } from '../errors';
import { readFlatXml } from '../flat-xml';
import type { Job, JobPage, ListQuery, PriorityResult, RequestedJobStatus, StatusResult } from '../types';
import { ossEncode } from './sign';

export interface OssOperation {
  method: 'GET' | 'POST';
  /** In the documented order (sub-resource first); `null` = valueless sub-resource. */
  query: Record<string, string | null>;
}

/** ListJobs `max-keys`: 1–1000 (OSS's default is 100). */
export const MAX_KEYS = 1000;
export const MAX_PRIORITY = 2147483647;
export const MAX_REASON_BYTES = 256;
/** OSS's documented separator for several `batchJobStatuses` (`Active|Complete`). */
export const STATUS_SEPARATOR = '|';

// ── requests ────────────────────────────────────────────────────────────────────────────────

/** `POST /?batchJobStatus&batchJobId=&requestedJobStatus=[&statusUpdateReason=]` */
export function updateStatusOp(
  jobId: string,
  requested: RequestedJobStatus,
  reason: string | undefined,
): OssOperation {
  checkJobId(jobId);
  const query: Record<string, string | null> = {
    batchJobStatus: null,
    batchJobId: jobId,
    requestedJobStatus: requested,
  };
  // OSS takes 1–256 characters: an empty reason is left out rather than sent empty.
  if (reason !== undefined && reason !== '') {
    if (Buffer.byteLength(reason) > MAX_REASON_BYTES)
      throw invalid(`statusUpdateReason: at most ${MAX_REASON_BYTES} bytes of UTF-8`);
    query.statusUpdateReason = reason;
  }
  return { method: 'POST', query };
}

/** `POST /?batchJobPriority&batchJobId=&targetPriority=` */
export function updatePriorityOp(jobId: string, priority: number): OssOperation {
  checkJobId(jobId);
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
    throw invalid(`priority: must be an integer 0–${MAX_PRIORITY}`);
  return {
    method: 'POST',
    query: { batchJobPriority: null, batchJobId: jobId, targetPriority: String(priority) },
  };
}

/** `GET /?batchJob&batchJobId=` */
export function describeOp(jobId: string): OssOperation {
  checkJobId(jobId);
  return { method: 'GET', query: { batchJob: null, batchJobId: jobId } };
}

/** `GET /?batchJob[&batchJobStatuses=A|B][&max-keys=][&continuation-token=]` */
export function listOp(q: ListQuery): OssOperation {
  const query: Record<string, string | null> = { batchJob: null };
  if (q.statuses !== undefined && q.statuses.length > 0)
    query.batchJobStatuses = q.statuses.join(STATUS_SEPARATOR);
  if (q.maxResults !== undefined)
    query['max-keys'] = String(Math.min(MAX_KEYS, Math.max(1, Math.trunc(q.maxResults))));
  if (q.nextToken !== undefined && q.nextToken !== '') query['continuation-token'] = q.nextToken;
  return { method: 'GET', query };
}

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

// ── responses ───────────────────────────────────────────────────────────────────────────────

const LIST_MEMBERS = new Set(['ListJobsResult.Jobs.JobListDescriptor', 'ListJobsResult.Jobs.member']);

// One parser for the process: ids stay strings (no number coercion) and values come back exactly
// as sent (no trimming), list members are always arrays even when there is one. Entities are
// decoded by `text()` below, in one pass and only where there is an `&`: the parser's own HTML
// entity support costs ~85 µs per answer, more than the rest of a call's client-side work.
const parser = new XMLParser({
  ignoreDeclaration: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  isArray: (_name: string, jpath: unknown) => typeof jpath === 'string' && LIST_MEMBERS.has(jpath),
});

type Node = Record<string, unknown>;

function parse(body: string, root: string): Node {
  // The small answers (Update*Result) are flat: read without the general parser.
  let doc: unknown = readFlatXml(body);
  if (doc === undefined)
    try {
      doc = parser.parse(body);
    } catch {
      throw malformed(`the answer is not XML (expected ${root})`);
    }
  const node = isNode(doc) ? doc[root] : undefined;
  // `<ListJobsResult/>` parses as a (blank) string: an element with nothing in it.
  if (typeof node === 'string' && node.trim() === '') return {};
  if (!isNode(node)) throw malformed(`the answer has no ${root} element`);
  return node;
}

export function decodeStatusResult(body: string): StatusResult {
  const r = parse(body, 'UpdateJobStatusResult');
  return {
    jobId: required(r, 'JobId'),
    status: required(r, 'Status'),
    statusUpdateReason: optional(r, 'StatusUpdateReason'),
  };
}

export function decodePriorityResult(body: string): PriorityResult {
  const r = parse(body, 'UpdateJobPriorityResult');
  const priority = integer(r.Priority);
  if (priority === null) throw malformed('UpdateJobPriorityResult has no integer Priority');
  return { jobId: required(r, 'JobId'), priority };
}

export function decodeDescribe(body: string): Job {
  const job = parse(body, 'DescribeJobResult').Job;
  if (!isNode(job)) throw malformed('DescribeJobResult has no Job element');
  return toJob(job);
}

export function decodeList(body: string): JobPage {
  const r = parse(body, 'ListJobsResult');
  const jobs: Job[] = [];
  // `<Jobs></Jobs>` parses as a (blank) string — no jobs, not an error.
  if (isNode(r.Jobs)) {
    for (const list of [r.Jobs.JobListDescriptor, r.Jobs.member]) {
      if (!Array.isArray(list)) continue;
      for (const j of list) {
        if (!isNode(j)) throw malformed('a ListJobsResult job is empty');
        jobs.push(toJob(j));
      }
    }
  }
  return { jobs, nextToken: optional(r, 'NextToken') };
}

function toJob(j: Node): Job {
  return {
    jobId: required(j, 'JobId'),
    status: required(j, 'Status'),
    priority: integer(j.Priority),
    description: optional(j, 'Description'),
    creationTime: isoTime(j.CreationTime),
    statusUpdateReason: optional(j, 'StatusUpdateReason'),
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

function integer(raw: unknown): number | null {
  if (typeof raw !== 'string') return null;
  const v = raw.trim();
  if (!DIGITS.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

function required(n: Node, name: string): string {
  const v = optional(n, name);
  if (v === null) throw malformed(`the answer has no ${name}`);
  return v;
}

/** The element's text, untrimmed; absent, empty or blank (`<NextToken>\n</NextToken>`) → null. */
function optional(n: Node, name: string): string | null {
  const v = n[name];
  return typeof v === 'string' && v.trim() !== '' ? text(v) : null;
}

const ENTITY = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(amp|lt|gt|quot|apos));/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntity(match: string, hex?: string, dec?: string, name?: string): string {
  if (name !== undefined) return NAMED[name] ?? match;
  const cp = hex !== undefined ? Number.parseInt(hex, 16) : Number(dec);
  return cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : match;
}

/** XML character data → text: the five predefined entities and numeric references (&#x4E2D;). */
function text(raw: string): string {
  return raw.includes('&') ? raw.replace(ENTITY, decodeEntity) : raw;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A 2xx whose body we cannot read: retryable, as a proxy or a truncated answer is transient. */
function malformed(message: string): ProviderError {
  return new ProviderError({ kind: 'server', code: 'InvalidResponse', message });
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
  RequestTimeTooSkewed: 'auth',
  SlowDown: 'throttled',
  Throttling: 'throttled',
  TooManyRequests: 'throttled',
};

const MAX_MESSAGE = 512;
const NOT_LETTERS = /[^A-Za-z]/g;

/** A code for an answer without OSS's error XML, named as COS does: 502 → BadGateway. */
function statusCode(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? reason.replace(NOT_LETTERS, '') : `Http${status}`;
}

/** An error answer (any non-2xx) as a `ProviderError` with OSS's Code, EC and request id. */
export function decodeError(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): ProviderError {
  let e: Node | undefined;
  try {
    const doc: unknown = body === '' ? undefined : (readFlatXml(body) ?? parser.parse(body));
    if (isNode(doc) && isNode(doc.Error)) e = doc.Error;
  } catch {
    // not XML (a proxy's HTML page, say): the status alone decides
  }
  const code = (e && optional(e, 'Code')) ?? statusCode(status);
  const headerId = headers['x-oss-request-id'];
  const requestId =
    (e && optional(e, 'RequestId')) ?? (typeof headerId === 'string' && headerId !== '' ? headerId : null);
  const text = (e && optional(e, 'Message')) ?? `HTTP ${status} from OSS`;
  // 5xx and throttling stay transient whatever the code says; otherwise OSS's code decides.
  const kind = errorKind(OSS_ERROR_KINDS, code, status);
  return new ProviderError({
    kind,
    code,
    message: text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text,
    httpStatus: status,
    requestId,
    ec: e ? optional(e, 'EC') : null,
  });
}
