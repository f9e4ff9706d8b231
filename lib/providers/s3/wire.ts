/**
 * What the S3 Control SDK hands back, in jobctl's terms: its exceptions as `ProviderError`s (the
 * controller decides on `kind`, users read `code`), and its job descriptors as the normalized `Job`.
 * The SDK does the HTTP and XML; this module is the only place that knows its shapes.
 */
import type { JobDescriptor, JobListDescriptor } from '@aws-sdk/client-s3-control';
import { type ErrorKind, errorKind, ProviderError, redirectError } from '../errors';
import type { Job } from '../types';
import { clip } from '../xml';

/** S3 Control's own codes, and the credential codes S3 answers with, by kind. */
export const S3_ERROR_KINDS: Readonly<Record<string, ErrorKind>> = {
  NotFoundException: 'not-found',
  JobStatusException: 'conflict',
  BadRequestException: 'invalid',
  InvalidRequestException: 'invalid',
  InvalidNextTokenException: 'invalid',
  TooManyRequestsException: 'throttled',
  InternalServiceException: 'server',
  AccessDenied: 'auth',
  AccessDeniedException: 'auth',
  InvalidAccessKeyId: 'auth',
  SignatureDoesNotMatch: 'auth',
  ExpiredToken: 'auth',
  InvalidToken: 'auth',
  InvalidClientTokenId: 'auth',
  UnrecognizedClientException: 'auth',
};

// Socket-level failures Node and undici report by `code`; all mean "try again later".
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EPROTO',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

interface SdkErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string; extendedRequestId?: string };
  $response?: { headers?: Record<string, string | undefined> };
  RequestId?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Classify anything the S3 Control client threw. Returns `null` for errors it cannot place (a bug,
 * not a provider answer), so the caller rethrows them unchanged rather than guessing a retry policy.
 */
export function providerErrorFrom(e: unknown, endpoint = 'the S3 Control endpoint'): ProviderError | null {
  if (e instanceof ProviderError) return e;
  if (typeof e !== 'object' || e === null) return null;
  const err = e as SdkErrorLike;
  const name = str(err.name) ?? 'Error';
  const sysCode = str(err.code);
  const message = clip(str(err.message) ?? name);
  const status = err.$metadata?.httpStatusCode;

  if (typeof status === 'number' && status >= 400) {
    // The SDK names a service exception after the `<Code>` it parsed; `Unknown`/`Error` mean none.
    const code = name === 'Unknown' || name === 'Error' ? `Http${status}` : name;
    return new ProviderError({
      kind: errorKind(S3_ERROR_KINDS, code, status, message),
      code,
      message,
      httpStatus: status,
      requestId: requestIdOf(err),
      // No `cause`: the SDK copies every element of the error body onto its exception, and
      // SignatureDoesNotMatch bodies echo the signature and the string to sign.
    });
  }
  if (typeof status === 'number' && status >= 300)
    return redirectError('S3 Control', status, endpoint, requestIdOf(err));
  if (typeof status === 'number') {
    // A 2xx the SDK could not read: a proxy or a truncated body, not a refusal.
    return new ProviderError({
      kind: 'server',
      code: 'MalformedResponse',
      message,
      httpStatus: status,
      requestId: requestIdOf(err),
    });
  }

  // Socket codes first: the node handler renames ECONNRESET and EPIPE to `TimeoutError`.
  if (sysCode !== undefined && (NETWORK_CODES.has(sysCode) || sysCode.startsWith('ERR_SSL')))
    return new ProviderError({ kind: 'network', code: sysCode, message, cause: e });
  if (name === 'TimeoutError' || sysCode === 'ETIMEDOUT' || sysCode === 'ESOCKETTIMEDOUT')
    return new ProviderError({ kind: 'timeout', code: 'Timeout', message, cause: e });
  if (name === 'AbortError')
    return new ProviderError({ kind: 'timeout', code: 'Aborted', message: 'request aborted', cause: e });
  if (name === 'CredentialsProviderError')
    return new ProviderError({ kind: 'auth', code: name, message, cause: e });
  return null;
}

function requestIdOf(err: SdkErrorLike): string | null {
  const headers = err.$response?.headers;
  return (
    str(err.$metadata?.requestId) ??
    str(headers?.['x-amz-request-id']) ??
    str(headers?.['x-amzn-requestid']) ??
    str(err.RequestId) ??
    null
  );
}

/** DescribeJob's `Job` and ListJobs' `Jobs` members, normalized; ListJobs carries no reason. */
export function jobFrom(d: JobDescriptor | JobListDescriptor): Job {
  const created = d.CreationTime;
  const p = d.ProgressSummary;
  return {
    jobId: d.JobId ?? '',
    status: d.Status ?? '',
    priority: typeof d.Priority === 'number' ? d.Priority : null,
    description: d.Description ?? null,
    creationTime: created instanceof Date && !Number.isNaN(created.getTime()) ? created.toISOString() : null,
    statusUpdateReason: 'StatusUpdateReason' in d ? (d.StatusUpdateReason ?? null) : null,
    progress:
      typeof p?.TotalNumberOfTasks === 'number'
        ? {
            total: p.TotalNumberOfTasks,
            succeeded: p.NumberOfTasksSucceeded ?? 0,
            failed: p.NumberOfTasksFailed ?? 0,
          }
        : null,
    ...('FailureReasons' in d || 'Report' in d ? describeOnly(d as JobDescriptor) : {}),
  };
}

/** What only DescribeJob carries: failure reasons and the completion report's location. */
function describeOnly(d: JobDescriptor): Pick<Job, 'failureReasons' | 'report' | 'terminationDate'> {
  const r = d.Report;
  const ended = d.TerminationDate;
  return {
    terminationDate: ended instanceof Date && !Number.isNaN(ended.getTime()) ? ended.toISOString() : null,
    failureReasons: (d.FailureReasons ?? [])
      .slice(0, 20)
      .filter((f) => f.FailureCode || f.FailureReason)
      .map((f) => ({
        code: (f.FailureCode ?? '').slice(0, 256),
        reason: (f.FailureReason ?? '').slice(0, 1024),
      })),
    report: r?.Enabled && r.Bucket ? (r.Prefix ? `${r.Bucket}/${r.Prefix}` : r.Bucket) : null,
  };
}
