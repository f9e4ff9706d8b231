/**
 * Alibaba OSS batch-job control: `wire` says what to send, `sign` signs it (V4), the shared
 * keep-alive transport sends it, `wire` reads the answer. Everything per target that does not
 * change between calls (origin, Host) is computed once, so a call is a few string joins, one
 * HMAC chain and one small XML parse.
 *
 * @example
 * const oss = createOssControl({ credentials: ossCredentialsFromEnv() });
 * await oss.updateStatus({ provider: 'oss', region: 'cn-hangzhou' }, jobId, 'Ready', 'window open');
 */

import { endpointResolver } from '../endpoint';
import { clockOffsetFrom, isClockSkew, ProviderError, redirectError } from '../errors';
import { type HttpRequest, type HttpResponse, type SendOptions, send } from '../http';
import { RULES } from '../rules';
import type { CallOptions, CredentialSource, JobControl, Target } from '../types';
import { type AnswerMeta, headerText, malformed } from '../xml';
import { ossAuthorization, ossDate, UNSIGNED_PAYLOAD } from './sign';
import {
  DescribeJob,
  decodeError,
  encodeQuery,
  ListJobs,
  type OssOperation,
  UpdateJobPriority,
  UpdateJobStatus,
} from './wire';

export interface OssControlOptions {
  /** Endpoint template with a `{region}` placeholder; default `https://oss-{region}.aliyuncs.com`. */
  endpoint?: string | undefined;
  credentials: CredentialSource;
  /** Default per-request timeout (a call's own `timeoutMs` wins). */
  timeoutMs?: number | undefined;
  /** Clock for `x-oss-date`, in epoch ms; tests pin it. */
  now?: (() => number) | undefined;
  /** Replaces the HTTP transport (a test, a benchmark capturing the bytes); `send` from `http.ts` by default. */
  transport?: ((req: HttpRequest, opts: SendOptions) => Promise<HttpResponse>) | undefined;
}

// Signing `host` binds the signature to the endpoint it was meant for.
const SIGNED_EXTRA = ['host'];

export function createOssControl(opts: OssControlOptions): JobControl {
  const template = opts.endpoint ?? RULES.oss.defaultEndpoint;
  const now = opts.now ?? Date.now;
  const transport = opts.transport ?? send;
  const endpointFor = endpointResolver('OSS', template);
  // How far the server's clock is ahead of ours, learnt from a RequestTimeTooSkewed answer.
  let clockOffsetMs = 0;

  async function call<T>(
    target: Target,
    op: OssOperation,
    decode: (body: string, meta: AnswerMeta) => T,
    callOpts: CallOptions | undefined,
  ): Promise<T> {
    const ep = endpointFor(target);
    const creds = await opts.credentials();
    const literals = [creds.accessKeyId, creds.secretAccessKey, creds.sessionToken ?? ''];
    try {
      for (let attempt = 0; ; attempt++) {
        const localNow = now();
        const date = new Date(localNow + clockOffsetMs);
        const headers: Record<string, string> = {
          host: ep.host,
          'x-oss-date': ossDate(date),
          'x-oss-content-sha256': UNSIGNED_PAYLOAD,
        };
        if (creds.sessionToken) headers['x-oss-security-token'] = creds.sessionToken;
        headers.authorization = ossAuthorization(
          { method: op.method, pathname: '/', query: op.query, headers },
          { accessKeyId: creds.accessKeyId, accessKeySecret: creds.secretAccessKey },
          { region: target.region, date, additionalHeaders: SIGNED_EXTRA },
        );
        const path = `/?${encodeQuery(op.query)}`;
        const res = await transport(
          {
            method: op.method,
            url: ep.base + path,
            target: { protocol: ep.protocol, hostname: ep.hostname, port: ep.port, path },
            headers,
          },
          { timeoutMs: callOpts?.timeoutMs ?? opts.timeoutMs, signal: callOpts?.signal },
        );
        const meta = { httpStatus: res.status, requestId: headerText(res.headers['x-oss-request-id']) };
        if (res.status >= 200 && res.status < 300) return decode(res.body, meta);
        if (res.status >= 300 && res.status < 400)
          throw redirectError('OSS', res.status, ep.base, meta.requestId);
        const err = decodeError(res.status, res.headers, res.body);
        // Our clock is off: sign again on the server's clock, once (see `clockOffsetFrom`).
        const offset = isClockSkew(err.code, err.message) ? clockOffsetFrom(res.headers, localNow) : null;
        if (attempt > 0 || offset === null) throw err;
        clockOffsetMs = offset;
      }
    } catch (e) {
      throw e instanceof ProviderError ? e.withoutLiterals(literals) : e;
    }
  }

  /** An answer about another job than the one asked about cannot be trusted as this job's. */
  const sameJob =
    <R extends { jobId: string }>(jobId: string, decode: (body: string, meta: AnswerMeta) => R) =>
    (body: string, meta: AnswerMeta): R => {
      const r = decode(body, meta);
      if (r.jobId !== jobId) throw malformed('OSS', 'an answer about another job', meta);
      return r;
    };

  return {
    provider: 'oss',
    async updateStatus(target, jobId, requested, reason, callOpts) {
      return call(
        target,
        UpdateJobStatus.request(jobId, requested, reason),
        sameJob(jobId, UpdateJobStatus.response),
        callOpts,
      );
    },
    async updatePriority(target, jobId, priority, callOpts) {
      return call(
        target,
        UpdateJobPriority.request(jobId, priority),
        sameJob(jobId, UpdateJobPriority.response),
        callOpts,
      );
    },
    async describe(target, jobId, callOpts) {
      return call(target, DescribeJob.request(jobId), DescribeJob.response, callOpts);
    },
    async list(target, query, callOpts) {
      return call(target, ListJobs.request(query), ListJobs.response, callOpts);
    },
  };
}
