/**
 * OSS signature V4 (`OSS4-HMAC-SHA256`), both ways: the client signs with `ossAuthorization`, the
 * sandbox checks with `verifyOssRequest`. One canonical-request builder serves both, so the two
 * sides cannot drift apart. Pure apart from a one-entry cache of the derived signing key.
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { rfc3986 } from '../rfc3986';
import { REGION_PATTERN } from '../rules';

export interface OssSignable {
  method: string;
  /** Decoded path; "/" for the batch-job API, which addresses no bucket. */
  pathname: string;
  /** `null` = valueless sub-resource (`batchJobStatus`), signed as a bare key. */
  query: Record<string, string | null>;
  headers: Record<string, string>;
}

export interface OssKey {
  accessKeyId: string;
  accessKeySecret: string;
}

export interface OssSignOptions {
  region: string;
  date: Date;
  /** Extra headers to sign besides content-type, content-md5 and x-oss-* (e.g. `host`). */
  additionalHeaders?: string[] | undefined;
}

export type OssVerify =
  | { ok: true; accessKeyId: string; region: string }
  | {
      ok: false;
      code: 'AccessDenied' | 'SignatureDoesNotMatch' | 'InvalidAccessKeyId' | 'RequestTimeTooSkewed';
      message: string;
    };

export const OSS_ALGORITHM = 'OSS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** How far `x-oss-date` may be from the server's clock. */
export const MAX_SKEW_MS = 15 * 60_000;

const PRODUCT = 'oss';
const TERMINATOR = 'aliyun_v4_request';

/** Percent-encode as OSS V4 does: RFC 3986. */
export const ossEncode = rfc3986;

/** `x-oss-date` form of a time: ISO 8601 basic, `yyyymmddTHHMMSSZ`. */
export function ossDate(date: Date): string {
  // yyyy-mm-ddTHH:MM:SS.sssZ → yyyymmddTHHMMSSZ
  return `${date.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** Client side: the `Authorization` header value for a request whose x-oss-* headers are set. */
export function ossAuthorization(req: OssSignable, key: OssKey, opts: OssSignOptions): string {
  const headers = lowercaseKeys(req.headers);
  const stamp = ossDate(opts.date);
  if (headers['x-oss-date'] !== stamp) throw new Error('x-oss-date header must equal ossDate(opts.date)');
  const additional = normalizeAdditional(opts.additionalHeaders);
  for (const h of additional) {
    if (headers[h] === undefined) throw new Error(`additional header ${h} is not among the request headers`);
  }
  const day = stamp.slice(0, 8);
  const signature = computeSignature(
    canonicalRequest(req.method, req.pathname, req.query, headers, additional),
    key.accessKeySecret,
    stamp,
    opts.region,
  );
  const extra = additional.length > 0 ? `AdditionalHeaders=${additional.join(';')},` : '';
  return `${OSS_ALGORITHM} Credential=${key.accessKeyId}/${day}/${opts.region}/${PRODUCT}/${TERMINATOR},${extra}Signature=${signature}`;
}

// ── server side ─────────────────────────────────────────────────────────────────────────────

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEADER_NAME = /^[a-z0-9-]+$/;

const deny = (message: string): OssVerify => ({ ok: false, code: 'AccessDenied', message });

/**
 * Server side, for the sandbox: checks a received request's V4 signature. `rawPath` and `rawQuery`
 * are as received (still percent-encoded); they are decoded and re-encoded canonically, so a
 * client that encodes differently but equivalently still verifies, and any changed value fails.
 */
export function verifyOssRequest(
  req: {
    method: string;
    rawPath: string;
    rawQuery: string;
    headers: Record<string, string | string[] | undefined>;
  },
  secretFor: (accessKeyId: string) => string | undefined,
  now: Date,
): OssVerify {
  const auth = header(req.headers, 'authorization');
  if (auth === undefined) return deny('the Authorization header is missing');
  if (!auth.startsWith(`${OSS_ALGORITHM} `))
    return deny(`the Authorization header must use ${OSS_ALGORITHM}`);

  let credential: string | undefined;
  let signature: string | undefined;
  let additionalRaw: string | undefined;
  for (const part of auth.slice(OSS_ALGORITHM.length + 1).split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (eq <= 0) return deny('the Authorization header is malformed');
    const name = p.slice(0, eq);
    const value = p.slice(eq + 1);
    if (name === 'Credential') credential = value;
    else if (name === 'Signature') signature = value;
    else if (name === 'AdditionalHeaders') additionalRaw = value;
    else return deny(`the Authorization header has an unknown field ${JSON.stringify(name.slice(0, 32))}`);
  }
  if (credential === undefined || signature === undefined)
    return deny('the Authorization header needs Credential and Signature');
  if (!HEX64.test(signature)) return deny('the Signature must be 64 lowercase hex digits');

  const scope = credential.split('/');
  if (scope.length !== 5 || scope[3] !== PRODUCT || scope[4] !== TERMINATOR)
    return deny(`the Credential must be <AccessKeyId>/<yyyymmdd>/<region>/${PRODUCT}/${TERMINATOR}`);
  const [accessKeyId = '', day = '', region = ''] = scope;
  if (accessKeyId === '') return deny('the Credential has no AccessKeyId');
  if (!REGION_PATTERN.test(region)) return deny('the Credential has no valid region');

  let additional: string[] = [];
  if (additionalRaw !== undefined) {
    additional = additionalRaw.split(';');
    const sorted = [...additional].sort();
    if (additional.some((h, i) => !HEADER_NAME.test(h) || h !== sorted[i] || h === sorted[i - 1]))
      return deny('AdditionalHeaders must be distinct lowercase header names, sorted, separated by ";"');
  }

  const stamp = header(req.headers, 'x-oss-date');
  if (stamp === undefined) return deny('the x-oss-date header is missing');
  const at = parseStamp(stamp);
  if (at === null) return deny('the x-oss-date header must be yyyymmddTHHMMSSZ');
  if (stamp.slice(0, 8) !== day) return deny('the Credential date does not match x-oss-date');
  if (header(req.headers, 'x-oss-content-sha256') === undefined)
    return deny('the x-oss-content-sha256 header is missing');

  const secret = secretFor(accessKeyId);
  if (secret === undefined)
    return { ok: false, code: 'InvalidAccessKeyId', message: 'the AccessKeyId does not exist' };
  if (Math.abs(now.getTime() - at) > MAX_SKEW_MS)
    return {
      ok: false,
      code: 'RequestTimeTooSkewed',
      message: 'the difference between the request time and the server time is too large',
    };

  const headers = dict<string>();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  for (const h of additional) {
    if (headers[h] === undefined) return deny(`the additional header ${h} is not in the request`);
  }

  let pathname: string;
  let query: Record<string, string | null>;
  try {
    pathname = decodeURIComponent(req.rawPath);
    query = parseRawQuery(req.rawQuery);
  } catch (e) {
    return deny(
      e instanceof URIError
        ? 'the request URL is not well-formed percent-encoded UTF-8'
        : 'a query parameter appears twice',
    );
  }

  const expected = computeSignature(
    canonicalRequest(req.method, pathname, query, headers, additional),
    secret,
    stamp,
    region,
  );
  // Both are 64 ASCII hex digits here, so equal byte lengths are guaranteed.
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature)))
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'the request signature does not match the signature the server calculated',
    };
  return { ok: true, accessKeyId, region };
}

// ── shared ──────────────────────────────────────────────────────────────────────────────────

/** The V4 canonical request: method, URI, query, headers, additional-header list, payload hash. */
export function canonicalRequest(
  method: string,
  pathname: string,
  query: Record<string, string | null>,
  headers: Record<string, string>,
  additional: readonly string[],
): string {
  const uri = pathname === '/' ? '/' : ossEncode(pathname).replaceAll('%2F', '/');

  const pairs: [string, string][] = [];
  for (const k in query) {
    const v = query[k];
    const ek = ossEncode(k);
    pairs.push([ek, v === null || v === undefined ? ek : `${ek}=${ossEncode(v)}`]);
  }
  pairs.sort(byFirst);
  let q = '';
  for (let i = 0; i < pairs.length; i++) q += (i === 0 ? '' : '&') + pairs[i]![1];

  const names: string[] = [...additional];
  for (const h in headers) {
    if (h === 'content-type' || h === 'content-md5' || h.startsWith('x-oss-')) {
      if (!additional.includes(h)) names.push(h);
    }
  }
  names.sort();
  let canonicalHeaders = '';
  for (const h of names) canonicalHeaders += `${h}:${(headers[h] ?? '').trim()}\n`;

  return [
    method.toUpperCase(),
    uri,
    q,
    canonicalHeaders,
    additional.join(';'),
    headers['x-oss-content-sha256'] ?? UNSIGNED_PAYLOAD,
  ].join('\n');
}

const byFirst = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

// The derived key changes only with the day, the region and the secret; deriving it costs four
// HMACs, so the last one is kept (as the AWS SDK's SigV4 signer keeps its signing keys).
let cachedKey: { secret: string; day: string; region: string; key: Buffer } | undefined;

function signingKey(secret: string, day: string, region: string): Buffer {
  const c = cachedKey;
  if (c !== undefined && c.day === day && c.region === region && c.secret === secret) return c.key;
  const kDate = createHmac('sha256', `aliyun_v4${secret}`).update(day).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kProduct = createHmac('sha256', kRegion).update(PRODUCT).digest();
  const key = createHmac('sha256', kProduct).update(TERMINATOR).digest();
  cachedKey = { secret, day, region, key };
  return key;
}

function computeSignature(canonical: string, secret: string, stamp: string, region: string): string {
  const day = stamp.slice(0, 8);
  const hashed = createHash('sha256').update(canonical).digest('hex');
  const stringToSign = `${OSS_ALGORITHM}\n${stamp}\n${day}/${region}/${PRODUCT}/${TERMINATOR}\n${hashed}`;
  return createHmac('sha256', signingKey(secret, day, region))
    .update(stringToSign)
    .digest('hex');
}

/** As the ali-oss SDK does: lowercase, dedupe, drop headers that are signed anyway, sort. */
function normalizeAdditional(list: readonly string[] | undefined): string[] {
  if (list === undefined || list.length === 0) return [];
  const out = new Set<string>();
  for (const h of list) {
    const l = h.toLowerCase();
    if (l !== 'content-type' && l !== 'content-md5' && !l.startsWith('x-oss-')) out.add(l);
  }
  return [...out].sort();
}

function lowercaseKeys(h: Record<string, string>): Record<string, string> {
  const out = dict<string>();
  for (const k in h) out[k.toLowerCase()] = h[k] as string;
  return out;
}

// Prototype-less, so that a parameter or header named __proto__ is just a key.
const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function parseStamp(stamp: string): number | null {
  const m = STAMP.exec(stamp);
  if (m === null) return null;
  const [y, mo, d, hh, mm, ss] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, hh, mm, ss);
  // Date.UTC rolls 2026-13-40 over into a valid date; a round trip catches it.
  return ossDate(new Date(t)) === stamp ? t : null;
}

/** `a=1&b&c=%20` → {a: '1', b: null, c: ' '}; `+` stays a plus (OSS clients encode spaces as %20). */
function parseRawQuery(raw: string): Record<string, string | null> {
  const out = dict<string | null>();
  if (raw === '') return out;
  for (const piece of raw.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? piece : piece.slice(0, eq));
    if (Object.hasOwn(out, key)) throw new Error('duplicate query parameter');
    out[key] = eq < 0 ? null : decodeURIComponent(piece.slice(eq + 1));
  }
  return out;
}
