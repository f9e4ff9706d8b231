/**
 * What COS and OSS share of their XML: both answer `<Root><Child>text</Child>…</Root>` documents
 * and `<Error><Code/><Message/><RequestId/>…</Error>`, so both wire codecs read them here — one
 * parser configuration, one text decoding, one malformed-answer error, one error decoder and one
 * message cap — and only their element names and code tables differ.
 */
import { STATUS_CODES } from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import { type ErrorKind, errorKind, kindForStatus, ProviderError } from './errors';
import { MAX_PRIORITY } from './rules';
import type { JobFailure, PriorityResult, StatusResult, TaskProgress } from './types';

export type Element = Record<string, unknown>;

/** What a codec knows of the answer besides its body. */
export interface AnswerMeta {
  httpStatus: number;
  requestId: string | null;
}

export const isElement = (v: unknown): v is Element =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A parser for one provider's answers. Values come back exactly as sent (ids such as "007",
 * reasons such as " 42 "): no number coercion, no trimming. Entities are decoded by `text()` only
 * in the values read: the parser's own numeric-reference support costs several times the rest of
 * the parse. `stopNodes` leaves subtrees that are never read unparsed.
 */
export function xmlParser(listPaths: readonly string[], stopNodes: readonly string[] = []): XMLParser {
  const lists = new Set(listPaths);
  return new XMLParser({
    ignoreAttributes: true,
    ignoreDeclaration: true,
    parseTagValue: false,
    trimValues: false,
    processEntities: false,
    isArray: (_name, jpath) => typeof jpath === 'string' && lists.has(jpath),
    stopNodes: [...stopNodes],
  });
}

function parse(parser: XMLParser, body: string): Element | undefined {
  try {
    const doc: unknown = parser.parse(body);
    return isElement(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** A 2xx answer we cannot read: most likely a proxy or a truncated body, so worth another try. */
export function malformed(provider: string, what: string, meta: AnswerMeta): ProviderError {
  return new ProviderError({
    kind: 'server',
    code: 'MalformedResponse',
    message: `${provider} answered ${meta.httpStatus} with ${what}`,
    httpStatus: meta.httpStatus,
    requestId: meta.requestId,
  });
}

/** The document's `root` element; `<Root/>` or `<Root></Root>` is an element with nothing in it. */
export function rootElement(
  provider: string,
  parser: XMLParser,
  body: string,
  root: string,
  meta: AnswerMeta,
): Element {
  const r = parse(parser, body)?.[root];
  if (typeof r === 'string' && r.trim() === '') return {};
  if (!isElement(r)) throw malformed(provider, `no <${root}> document`, meta);
  return r;
}

const ENTITY = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(lt|gt|amp|quot|apos));/g;
const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function decodeEntity(whole: string, hex?: string, dec?: string, name?: string): string {
  if (name !== undefined) return NAMED[name] ?? whole;
  const cp = hex !== undefined ? Number.parseInt(hex, 16) : Number(dec);
  return cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : whole;
}

/** Character data with XML's five entities and numeric references (`&#34;`, `&#x4E2D;`) decoded. */
export function text(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  return v.includes('&') ? v.replace(ENTITY, decodeEntity) : v;
}

/** Optional text, untrimmed: an absent, empty or blank element (`<NextToken>\n</NextToken>`) is `null`. */
export function optional(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? text(v) : null;
}

export function requiredText(
  provider: string,
  e: Element,
  name: string,
  where: string,
  meta: AnswerMeta,
): string {
  const v = optional(e[name]);
  if (v === null) throw malformed(provider, `a ${where} without ${name}`, meta);
  return v;
}

/**
 * `UpdateJobStatusResult{JobId,Status,StatusUpdateReason}`: COS and OSS both answer in S3's shape,
 * so one decoder serves both; the provider names itself in a malformed answer's message.
 */
export function statusResult(
  provider: string,
  parser: XMLParser,
  body: string,
  meta: AnswerMeta,
): StatusResult {
  const where = 'UpdateJobStatusResult';
  const r = rootElement(provider, parser, body, where, meta);
  return {
    jobId: requiredText(provider, r, 'JobId', where, meta),
    status: requiredText(provider, r, 'Status', where, meta),
    statusUpdateReason: optional(r.StatusUpdateReason),
  };
}

/** `UpdateJobPriorityResult{JobId,Priority}`, likewise shared. */
export function priorityResult(
  provider: string,
  parser: XMLParser,
  body: string,
  meta: AnswerMeta,
): PriorityResult {
  const where = 'UpdateJobPriorityResult';
  const r = rootElement(provider, parser, body, where, meta);
  const p = priority(r.Priority);
  if (p === null) throw malformed(provider, `an ${where} without a valid Priority`, meta);
  return { jobId: requiredText(provider, r, 'JobId', where, meta), priority: p };
}

const INTEGER = /^\s*\d{1,16}\s*$/;
/** A non-negative integer element, or `null` when absent or not one. */
export function count(v: unknown): number | null {
  if (typeof v !== 'string' || !INTEGER.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

/** A priority: an integer within the documented range, else `null`. */
export function priority(v: unknown): number | null {
  const n = count(v);
  return n !== null && n <= MAX_PRIORITY ? n : null;
}

/** `<ProgressSummary>` as COS, OSS and S3 spell it; `null` without a total. */
export function progressOf(v: unknown): TaskProgress | null {
  if (!isElement(v)) return null;
  const total = count(v.TotalNumberOfTasks);
  if (total === null) return null;
  return {
    total,
    succeeded: count(v.NumberOfTasksSucceeded) ?? 0,
    failed: count(v.NumberOfTasksFailed) ?? 0,
  };
}

/** `<FailureReasons><JobFailure>…</JobFailure>…</FailureReasons>`; at most 20, each clipped. */
export function failureReasonsOf(v: unknown, item = 'JobFailure'): JobFailure[] {
  if (!isElement(v)) return [];
  const raw = v[item];
  const items = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const out: JobFailure[] = [];
  for (const f of items.slice(0, 20)) {
    if (!isElement(f)) continue;
    const code = optional(f.FailureCode);
    const reason = optional(f.FailureReason);
    if (code === null && reason === null) continue;
    out.push({ code: (code ?? '').slice(0, 256), reason: (reason ?? '').slice(0, 1024) });
  }
  return out;
}

/** `<Report>`: `<bucket>/<prefix>` when enabled, else null. */
export function reportOf(v: unknown): string | null {
  if (!isElement(v) || optional(v.Enabled)?.trim() !== 'true') return null;
  const bucket = optional(v.Bucket);
  if (bucket === null) return null;
  const prefix = optional(v.Prefix);
  return prefix === null ? bucket : `${bucket}/${prefix}`;
}

// ── errors ──────────────────────────────────────────────────────────────────────────────────

/** Error messages end up in outcomes and logs: a misbehaving endpoint must not flood them. */
export const MAX_MESSAGE_CHARS = 1024;
export const clip = (s: string): string =>
  s.length > MAX_MESSAGE_CHARS ? `${s.slice(0, MAX_MESSAGE_CHARS)}…` : s;

const NOT_LETTERS = /[^A-Za-z]/g;
/** A code for an answer without the provider's error XML: 502 → BadGateway. */
export function statusCode(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? reason.replace(NOT_LETTERS, '') : `Http${status}`;
}

export function headerText(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? null : s;
}

export interface ErrorDialect {
  provider: string;
  parser: XMLParser;
  /** The header carrying the request id when the body does not. */
  requestIdHeader: string;
  kinds: Readonly<Record<string, ErrorKind>>;
}

/** An error answer (any non-2xx) as a `ProviderError`, also when the body is not the provider's XML. */
export function decodeErrorAnswer(
  d: ErrorDialect,
  httpStatus: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): ProviderError {
  const doc = body === '' ? undefined : parse(d.parser, body);
  const e = isElement(doc?.Error) ? doc.Error : undefined;
  const code = e && optional(e.Code);
  const headerRequestId = headerText(headers[d.requestIdHeader]);
  if (e !== undefined && code !== null && code !== undefined) {
    return new ProviderError({
      kind: errorKind(d.kinds, code, httpStatus, optional(e.Message) ?? ''),
      code,
      message: clip(optional(e.Message) ?? code),
      httpStatus,
      requestId: optional(e.RequestId) ?? headerRequestId,
      ec: optional(e.EC),
    });
  }
  // A proxy's HTML page, an empty body, …: the status is all there is to go on.
  const reason = STATUS_CODES[httpStatus];
  return new ProviderError({
    kind: kindForStatus(httpStatus),
    code: statusCode(httpStatus),
    message: `HTTP ${httpStatus}${reason ? ` ${reason}` : ''} without a ${d.provider} error document`,
    httpStatus,
    requestId: headerRequestId,
  });
}
