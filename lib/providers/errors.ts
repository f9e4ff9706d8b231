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
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.code = init.code;
    this.httpStatus = init.httpStatus ?? null;
    this.requestId = init.requestId ?? null;
    this.ec = init.ec ?? null;
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
  if (status >= 500) return 'server';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  return 'invalid';
}

/**
 * The kind of an error answer, the same way for every provider: a 5xx or throttling status wins
 * over the code (a 500 is transient whatever its body says), then the provider's code table,
 * then the status alone.
 */
export function errorKind(
  table: Readonly<Record<string, ErrorKind>>,
  code: string,
  status: number,
): ErrorKind {
  const byStatus = kindForStatus(status, code);
  if (byStatus === 'server' || byStatus === 'throttled') return byStatus;
  return table[code] ?? byStatus;
}
