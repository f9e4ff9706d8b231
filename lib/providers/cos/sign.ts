/**
 * The COS request signature (`q-sign-algorithm=sha1`, https://cloud.tencent.com/document/product/436/7778),
 * both ways: `cosAuthorization` for the client and `verifyCosRequest` for the sandbox, sharing one
 * canonical form so the two can never drift apart. Pure: no I/O, no clock (time is passed in).
 *
 * @example
 * const authorization = cosAuthorization(
 *   { method: 'POST', pathname: '/jobs/abc/status', query: { requestedJobStatus: 'Ready' },
 *     headers: { host: '100000000001.cos-control.ap-guangzhou.myqcloud.com', 'x-cos-appid': '1250000000' } },
 *   { secretId, secretKey },
 *   { now: Math.floor(Date.now() / 1000) },
 * );
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { rfc3986 } from '../rfc3986';

export interface CosSignable {
  method: string;
  /** Decoded path, e.g. `/jobs/abc/status`: COS signs the path before percent-encoding. */
  pathname: string;
  query: Record<string, string>;
  /** Including `host`. */
  headers: Record<string, string>;
}

export interface CosKey {
  secretId: string;
  secretKey: string;
}

export type CosVerify =
  | { ok: true; secretId: string }
  | {
      ok: false;
      code: 'AccessDenied' | 'SignatureDoesNotMatch' | 'InvalidAccessKeyId' | 'RequestTimeTooSkewed';
      message: string;
    };

export const DEFAULT_EXPIRES_IN = 900;

export { rfc3986 };

// The headers COS lets a signature cover besides `x-cos-*` (the list cos-nodejs-sdk-v5 signs).
// Anything else (user-agent, connection, …) may be rewritten on the way and is left out.
const SIGNABLE_HEADERS: ReadonlySet<string> = new Set([
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-length',
  'content-md5',
  'content-type',
  'expect',
  'expires',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-unmodified-since',
  'origin',
  'range',
  'transfer-encoding',
  'pic-operations',
]);

const isSignableHeader = (lowerName: string): boolean =>
  lowerName.startsWith('x-cos-') || lowerName.startsWith('x-ci-') || SIGNABLE_HEADERS.has(lowerName);

/** Headers a request must not carry unsigned: a verifier rejects them when they are left off the list. */
const mustBeSigned = (lowerName: string): boolean => lowerName === 'host' || lowerName.startsWith('x-cos-');

/** One side of the HttpString: `key=value&…` and the matching `key;…` list, sorted by encoded key. */
interface Canonical {
  list: string;
  pairs: string;
}

/** `entries` hold already-encoded, lower-cased keys and encoded values. */
function canonical(entries: Array<[string, string]>): Canonical {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let list = '';
  let pairs = '';
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i]!;
    if (i > 0) {
      list += ';';
      pairs += '&';
    }
    list += k;
    pairs += k + '=' + v;
  }
  return { list, pairs };
}

const encodedKey = (k: string): string => rfc3986(k).toLowerCase();

function hmacHex(key: string, data: string): string {
  return createHmac('sha1', key).update(data).digest('hex');
}

function signature(
  secretKey: string,
  keyTime: string,
  signTime: string,
  method: string,
  pathname: string,
  params: Canonical,
  headers: Canonical,
): string {
  const httpString =
    method.toLowerCase() + '\n' + pathname + '\n' + params.pairs + '\n' + headers.pairs + '\n';
  const digest = createHash('sha1').update(httpString).digest('hex');
  const stringToSign = 'sha1\n' + signTime + '\n' + digest + '\n';
  // SignKey = HMAC-SHA1(SecretKey, KeyTime) in hex, which is itself the key for the StringToSign.
  return hmacHex(hmacHex(secretKey, keyTime), stringToSign);
}

/**
 * The `Authorization` header value for a request: signs every query parameter, `host`, every
 * `x-cos-*` header (so `x-cos-security-token` with temporary keys) and the standard content headers
 * present; valid from `now` for `expiresIn` seconds.
 */
export function cosAuthorization(
  req: CosSignable,
  key: CosKey,
  opts: { now: number; expiresIn?: number },
): string {
  const start = Math.floor(opts.now);
  const keyTime = start + ';' + (start + (opts.expiresIn ?? DEFAULT_EXPIRES_IN));

  const queryEntries: Array<[string, string]> = [];
  for (const k in req.query) queryEntries.push([encodedKey(k), rfc3986(req.query[k] ?? '')]);
  const headerEntries: Array<[string, string]> = [];
  for (const k in req.headers) {
    const name = k.toLowerCase();
    if (isSignableHeader(name)) headerEntries.push([encodedKey(name), rfc3986(req.headers[k] ?? '')]);
  }
  const params = canonical(queryEntries);
  const headers = canonical(headerEntries);
  const sig = signature(key.secretKey, keyTime, keyTime, req.method, req.pathname, params, headers);
  return (
    'q-sign-algorithm=sha1&q-ak=' +
    key.secretId +
    '&q-sign-time=' +
    keyTime +
    '&q-key-time=' +
    keyTime +
    '&q-header-list=' +
    headers.list +
    '&q-url-param-list=' +
    params.list +
    '&q-signature=' +
    sig
  );
}

const REQUIRED_FIELDS = [
  'q-sign-algorithm',
  'q-ak',
  'q-sign-time',
  'q-key-time',
  'q-header-list',
  'q-url-param-list',
  'q-signature',
] as const;

const TIME_RANGE = /^(\d{1,12});(\d{1,12})$/;
const HEX_SIGNATURE = /^[0-9a-f]{40}$/;

type Denied = Extract<CosVerify, { ok: false }>;
const deny = (code: Denied['code'], message: string): Denied => ({ ok: false, code, message });

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Server side, for the sandbox: recompute from the raw request. `rawPath` / `rawQuery` as received
 * on the wire (still encoded). Rejects anything the signature does not cover: a `host` or `x-cos-*`
 * header or a query parameter missing from the signed lists is `AccessDenied`, so nothing unsigned
 * can be slipped in. Messages name fields, never values.
 */
export function verifyCosRequest(
  req: {
    method: string;
    rawPath: string;
    rawQuery: string;
    headers: Record<string, string | string[] | undefined>;
  },
  secretFor: (secretId: string) => string | undefined,
  nowSeconds: number,
): CosVerify {
  const headers = new Map<string, string>();
  for (const k in req.headers) {
    const v = headerValue(req.headers[k]);
    if (v !== undefined) headers.set(k.toLowerCase(), v);
  }

  const authorization = headers.get('authorization');
  if (!authorization) return deny('AccessDenied', 'the request carries no Authorization header');
  const fields = new Map<string, string>();
  for (const part of authorization.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  for (const f of REQUIRED_FIELDS) {
    if (!fields.has(f)) return deny('AccessDenied', `the Authorization header lacks ${f}`);
  }
  if (fields.get('q-sign-algorithm') !== 'sha1') return deny('AccessDenied', 'q-sign-algorithm must be sha1');

  const secretId = fields.get('q-ak')!;
  const secretKey = secretId === '' ? undefined : secretFor(secretId);
  if (secretKey === undefined)
    return deny('InvalidAccessKeyId', 'the SecretId in q-ak is not known to this endpoint');

  const signTime = fields.get('q-sign-time')!;
  const keyTime = fields.get('q-key-time')!;
  for (const [name, range] of [
    ['q-sign-time', signTime],
    ['q-key-time', keyTime],
  ] as const) {
    const m = TIME_RANGE.exec(range);
    if (!m) return deny('AccessDenied', `${name} must be "start;end" in epoch seconds`);
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (start > end) return deny('AccessDenied', `${name} ends before it starts`);
    if (start > nowSeconds) return deny('RequestTimeTooSkewed', `${name} starts in the future`);
    if (end < nowSeconds) return deny('AccessDenied', 'Request has expired');
  }

  // Headers: every listed one must be present; every host / x-cos-* one must be listed.
  const headerList = fields.get('q-header-list')!;
  const listedHeaders = headerList === '' ? [] : headerList.split(';');
  const listedHeaderSet = new Set(listedHeaders);
  if (listedHeaderSet.size !== listedHeaders.length)
    return deny('AccessDenied', 'q-header-list names a header twice');
  const headerEntries: Array<[string, string]> = [];
  const byEncodedName = new Map<string, string>();
  for (const [name, value] of headers) {
    const enc = encodedKey(name);
    byEncodedName.set(enc, value);
    if (mustBeSigned(name) && !listedHeaderSet.has(enc))
      return deny('AccessDenied', `the header ${name} is not covered by the signature`);
  }
  for (const name of listedHeaders) {
    const value = byEncodedName.get(name);
    if (value === undefined) return deny('AccessDenied', `the signed header ${name} is missing`);
    headerEntries.push([name, rfc3986(value)]);
  }

  // Query: the signed list must be exactly the parameters on the wire.
  const queryEntries: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const part of req.rawQuery === '' ? [] : req.rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    } catch {
      return deny('AccessDenied', 'the query string is not valid percent-encoding');
    }
    const enc = encodedKey(key);
    if (seen.has(enc)) return deny('AccessDenied', `the query parameter ${enc} appears twice`);
    seen.add(enc);
    queryEntries.push([enc, rfc3986(value)]);
  }
  const paramList = fields.get('q-url-param-list')!;
  const listedParams = paramList === '' ? [] : paramList.split(';');
  const listedParamSet = new Set(listedParams);
  for (const enc of seen) {
    if (!listedParamSet.has(enc))
      return deny('AccessDenied', `the query parameter ${enc} is not covered by the signature`);
  }
  if (listedParamSet.size !== seen.size || listedParams.length !== seen.size)
    return deny('AccessDenied', 'q-url-param-list names parameters the request does not carry');

  let pathname: string;
  try {
    pathname = decodeURIComponent(req.rawPath);
  } catch {
    return deny('AccessDenied', 'the path is not valid percent-encoding');
  }

  const expected = signature(
    secretKey,
    keyTime,
    signTime,
    req.method,
    pathname,
    canonical(queryEntries),
    canonical(headerEntries),
  );
  const given = fields.get('q-signature')!;
  if (!HEX_SIGNATURE.test(given) || !timingSafeEqual(Buffer.from(given), Buffer.from(expected)))
    return deny('SignatureDoesNotMatch', 'the request signature does not match');
  return { ok: true, secretId };
}
