/**
 * Provider failures as one typed error. `kind` is what the controller decides on; `code` is the
 * provider's own (NoSuchJob, JobStatusException, …) and is what users see in outcomes.
 */

export type ErrorKind =
  /** The job does not exist (COS NoSuchJob, S3 NotFoundException, OSS NoSuchJob). */
  | 'not-found'
  /** The job's state does not allow the change (COS InvalidRequest, S3 JobStatusException). */
  | 'conflict'
  /** The request itself was refused as malformed (InvalidArgument, BadRequestException). */
  | 'invalid'
  /** Credentials or permissions (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId). */
  | 'auth'
  /** Throttling: 429, SlowDown, TooManyRequestsException. */
  | 'throttled'
  /** 5xx from the provider. */
  | 'server'
  /** No answer in time. */
  | 'timeout'
  /** Connection refused, reset, DNS, TLS. */
  | 'network'
  /**
   * Our side is not set up (missing keys, no STS role): not worth retrying now, but not the
   * transition's fault either, so its message stays for redrive once the configuration is fixed.
   */
  | 'config';

const RETRYABLE: ReadonlySet<ErrorKind> = new Set(['throttled', 'server', 'timeout', 'network']);

// ── secrets ─────────────────────────────────────────────────────────────────────────────────
// A provider's error text may echo the request it refused (SignatureDoesNotMatch bodies carry the
// string to sign, proxies echo headers) and an endpoint may carry userinfo. Every ProviderError's
// text passes through `redact` when it is built, so nothing that becomes an outcome or a log line
// can hold a signature, a key id, a token or a password.

const R = '[redacted]';
const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // URL userinfo: scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi, `$1${R}@`],
  // COS auth string fields (q-ak, key/sign time, header and parameter lists, signature).
  [/\b(q-(?:ak|signature|key-time|sign-time))=[^&\s"'<>]*/gi, `$1=${R}`],
  // OSS V4 / AWS SigV4 / presigned-URL forms of a credential scope or signature.
  [
    /\b((?:X-Amz-|x-oss-)?(?:Credential|Signature|Security-Token|SignatureV4)(?:=|:\s*))[^\s,&"'<>]+/gi,
    `$1${R}`,
  ],
  // Session tokens named as headers or fields (x-cos-security-token: …, SecurityToken=…).
  [/\b((?:x-(?:cos|oss|amz)-)?(?:security|session)[-_]?token["']?\s*[:=]\s*["']?)[^\s,&"'<>]+/gi, `$1${R}`],
  // Authorization header values quoted whole.
  [/\b(authorization["']?\s*[:=]\s*["']?)[^\r\n"'<>]+/gi, `$1${R}`],
  // Access-key ids by their documented prefixes: AWS AKIA/ASIA, Tencent AKID, Alibaba LTAI/STS.
  [/\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b/g, R],
  [/\bAKID[A-Za-z0-9]{8,}\b/g, R],
  [/\bLTAI[A-Za-z0-9]{8,}\b/g, R],
  [/\bSTS\.[A-Za-z0-9]{8,}\b/g, R],
  // A bare HMAC-SHA1 / SHA-256 digest: a signature or a hash of the string that was signed.
  [/\b(?:[0-9a-f]{40}|[0-9a-f]{64})\b/gi, R],
];

/**
 * `text` with signatures, key ids, session tokens and URL userinfo replaced by `[redacted]`, and
 * every one of `literals` (the caller's own key id, secret, token) too, however it was encoded.
 */
export function redact(text: string, literals: readonly string[] = []): string {
  let out = text;
  for (const v of literals) {
    // Short values would match too much ordinary text; real keys and tokens are long.
    if (v.length < 8) continue;
    for (const form of new Set([v, encodeURIComponent(v), JSON.stringify(v).slice(1, -1)]))
      if (out.includes(form)) out = out.split(form).join(R);
  }
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

export interface ProviderErrorInit {
  kind: ErrorKind;
  code: string;
  message: string;
  httpStatus?: number | null | undefined;
  requestId?: string | null | undefined;
  /** OSS's diagnostic error code, when present. */
  ec?: string | null | undefined;
  cause?: unknown;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly kind: ErrorKind;
  readonly code: string;
  readonly httpStatus: number | null;
  readonly requestId: string | null;
  readonly ec: string | null;

  constructor(init: ProviderErrorInit) {
    super(redact(init.message), init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.code = redact(init.code);
    this.httpStatus = init.httpStatus ?? null;
    this.requestId = init.requestId == null ? null : redact(init.requestId);
    this.ec = init.ec ?? null;
  }

  /**
   * The same error with the caller's own configured values (key id, secret, token) also removed:
   * a client knows them, and a provider may echo one verbatim in a form no pattern recognises.
   */
  withoutLiterals(literals: readonly string[]): ProviderError {
    const message = redact(this.message, literals);
    const code = redact(this.code, literals);
    const requestId = this.requestId === null ? null : redact(this.requestId, literals);
    if (message === this.message && code === this.code && requestId === this.requestId) return this;
    return new ProviderError({
      kind: this.kind,
      code,
      message,
      httpStatus: this.httpStatus,
      requestId,
      ec: this.ec,
    });
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

/**
 * The kind for an HTTP error answer when the provider's code is not one the codec knows:
 * status decides (5xx server, 429 throttled, 401/403 auth, 404 not-found, other 4xx invalid).
 */
export function kindForStatus(status: number, code?: string): ErrorKind {
  if (
    code === 'SlowDown' ||
    code === 'Throttling' ||
    code === 'TooManyRequests' ||
    code === 'RequestLimitExceeded'
  )
    return 'throttled';
  if (code === 'RequestTimeout') return 'timeout';
  if (status === 429) return 'throttled';
  if (status >= 300 && status < 400) return 'config';
  if (status >= 500) return 'server';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  return 'invalid';
}

/**
 * A refusal because the two clocks disagree: OSS and S3 `RequestTimeTooSkewed`, COS
 * `RequestTimeTooSkewed` or an AccessDenied saying "Request has expired". Not the request's fault
 * and not the credentials': a client corrects its clock offset and retries once (`clockOffsetFrom`).
 */
export function isClockSkew(code: string, message: string): boolean {
  return (
    code === 'RequestTimeTooSkewed' ||
    code === 'RequestExpired' ||
    (code === 'AccessDenied' && /\brequest has expired\b/i.test(message))
  );
}

/**
 * How far the server's clock is ahead of ours (ms), from its `Date` header; `null` when the answer
 * carries no usable date. As the AWS SDK's `systemClockOffset`: the offset is kept per client and
 * added to the clock every signature reads.
 */
export function clockOffsetFrom(
  headers: Record<string, string | string[] | undefined>,
  localNow: number,
): number | null {
  const raw = headers.date;
  const date = Array.isArray(raw) ? raw[0] : raw;
  if (date === undefined) return null;
  const server = Date.parse(date);
  return Number.isNaN(server) ? null : server - localNow;
}

/**
 * The kind of an error answer, the same way for every provider: a 5xx or throttling status wins
 * over the code (a 500 is transient whatever its body says), a clock-skew refusal is our clock's
 * fault and never a refusal for good (`config`: the message stays), then the provider's code
 * table, then the status alone.
 */
export function errorKind(
  table: Readonly<Record<string, ErrorKind>>,
  code: string,
  status: number,
  message = '',
): ErrorKind {
  const byStatus = kindForStatus(status, code);
  if (byStatus === 'server' || byStatus === 'throttled') return byStatus;
  if (isClockSkew(code, message)) return 'config';
  return table[code] ?? byStatus;
}

/**
 * A 3xx from a control endpoint: the endpoint is misconfigured (a proxy, an http→https hop, a
 * wrong host). No batch-operations API redirects, and following one would send the signed request
 * elsewhere; the message stays on the queue until the configuration is fixed.
 */
export function redirectError(
  provider: string,
  status: number,
  endpoint: string,
  requestId: string | null,
): ProviderError {
  return new ProviderError({
    kind: 'config',
    code: 'UnexpectedRedirect',
    message: `${provider} answered ${status} (a redirect) from ${endpoint}: check the endpoint configuration`,
    httpStatus: status,
    requestId,
  });
}
