/**
 * The Tencent COS `JobControl`: wires the codec (`wire.ts`) and the signer (`sign.ts`) to the shared
 * keep-alive transport. Everything per call is the minimum: the endpoint is parsed once per target,
 * the parser and patterns live at module level, so a call costs a signature and a round trip.
 *
 * @example
 * const cos = createCosControl({ credentials: cosCredentialsFromEnv() });
 * const target = { provider: 'cos', region: 'ap-guangzhou', account: '100000000001', appId: '1250000000' } as const;
 * await cos.updateStatus(target, '53dc6228-c50b-46f7-8ad7-65e7159f1aae', 'Ready', 'off-peak window opened');
 */

import { endpointResolver } from '../endpoint';
import { clockOffsetFrom, isClockSkew, ProviderError, redirectError } from '../errors';
import { type HttpRequest, type HttpResponse, type SendOptions, send } from '../http';
import { APPID_PATTERN, RULES } from '../rules';
import type { CallOptions, CredentialSource, JobControl, JobPage, Target } from '../types';
import { type AnswerMeta, headerText, malformed } from '../xml';
import { cosAuthorization } from './sign';
import {
  type CosHttpCall,
  DescribeJob,
  decodeError,
  ListJobs,
  queryString,
  UpdateJobPriority,
  UpdateJobStatus,
} from './wire';

export interface CosControlOptions {
  /** Template with `{account}` / `{region}`; default `https://{account}.cos-control.{region}.myqcloud.com`; a plain `http://127.0.0.1:PORT` works. */
  endpoint?: string | undefined;
  credentials: CredentialSource;
  /** Default per-request timeout (the transport's default when absent); a call's own `timeoutMs` wins. */
  timeoutMs?: number | undefined;
  /** Clock for the signature's key time, epoch ms. */
  now?: (() => number) | undefined;
  /** Replaces the HTTP transport (an in-process sandbox, a test); `send` from `http.ts` by default. */
  transport?: ((req: HttpRequest, opts: SendOptions) => Promise<HttpResponse>) | undefined;
}

const CURSOR = /^(\d{1,3}):(.*)$/s;

function invalidTarget(message: string): ProviderError {
  return new ProviderError({ kind: 'invalid', code: 'InvalidArgument', message });
}

/** An answer about another job than the one asked about cannot be trusted as this job's. */
const sameJob =
  <R extends { jobId: string }>(jobId: string, decode: (body: string, meta: AnswerMeta) => R) =>
  (body: string, meta: AnswerMeta): R => {
    const r = decode(body, meta);
    if (r.jobId !== jobId) throw malformed('COS', 'an answer about another job', meta);
    return r;
  };

export function createCosControl(opts: CosControlOptions): JobControl {
  const template = opts.endpoint ?? RULES.cos.defaultEndpoint;
  const transport = opts.transport ?? send;
  const now = opts.now ?? Date.now;
  const originFor = endpointResolver('COS', template);

  // How far the server's clock is ahead of ours, learnt from a skew refusal.
  let clockOffsetMs = 0;

  async function call<T>(
    target: Target,
    op: CosHttpCall,
    decode: (body: string, meta: AnswerMeta) => T,
    callOpts: CallOptions | undefined,
  ): Promise<T> {
    const appId = target.appId;
    if (appId === undefined || !APPID_PATTERN.test(appId))
      throw invalidTarget('a COS target needs appId (sent as x-cos-appid): 1–64 digits');
    const origin = originFor(target);
    const creds = await opts.credentials();
    const literals = [creds.accessKeyId, creds.secretAccessKey, creds.sessionToken ?? ''];
    const path = op.path + queryString(op.query);
    try {
      for (let attempt = 0; ; attempt++) {
        const localNow = now();
        const headers: Record<string, string> = { host: origin.host, 'x-cos-appid': appId };
        if (creds.sessionToken) headers['x-cos-security-token'] = creds.sessionToken;
        headers.authorization = cosAuthorization(
          { method: op.method, pathname: op.pathname, query: op.query, headers },
          { secretId: creds.accessKeyId, secretKey: creds.secretAccessKey },
          // One second early, as the official SDKs do: a server clock a little behind ours must not
          // see a signature that starts in the future.
          { now: Math.floor((localNow + clockOffsetMs) / 1000) - 1 },
        );
        const res = await transport(
          {
            method: op.method,
            url: origin.base + path,
            target: { protocol: origin.protocol, hostname: origin.hostname, port: origin.port, path },
            headers,
          },
          { timeoutMs: callOpts?.timeoutMs ?? opts.timeoutMs, signal: callOpts?.signal },
        );
        const meta = { httpStatus: res.status, requestId: headerText(res.headers['x-cos-request-id']) };
        if (res.status >= 200 && res.status < 300) return decode(res.body, meta);
        if (res.status >= 300 && res.status < 400)
          throw redirectError('COS', res.status, origin.base, meta.requestId);
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

  return {
    provider: 'cos',
    updateStatus(target, jobId, requested, reason, callOpts) {
      return call(
        target,
        UpdateJobStatus.request(jobId, requested, reason),
        sameJob(jobId, UpdateJobStatus.response),
        callOpts,
      );
    },
    updatePriority(target, jobId, priority, callOpts) {
      return call(
        target,
        UpdateJobPriority.request(jobId, priority),
        sameJob(jobId, UpdateJobPriority.response),
        callOpts,
      );
    },
    describe(target, jobId, callOpts) {
      return call(target, DescribeJob.request(jobId), DescribeJob.response, callOpts);
    },
    async list(target, query, callOpts): Promise<JobPage> {
      const statuses = [...new Set(query.statuses ?? [])];
      if (statuses.length <= 1) {
        const op = ListJobs.request({
          status: statuses[0],
          maxResults: query.maxResults,
          nextToken: query.nextToken,
        });
        return call(target, op, ListJobs.response, callOpts);
      }
      // COS filters on one status per request, so several statuses are listed one after another;
      // the cursor `{index}:{COS token}` says which status and where in it the next page starts.
      let index = 0;
      let token: string | undefined;
      if (query.nextToken !== undefined && query.nextToken !== '') {
        const m = CURSOR.exec(query.nextToken);
        if (!m || Number(m[1]) >= statuses.length)
          throw new ProviderError({
            kind: 'invalid',
            code: 'InvalidNextToken',
            message: 'nextToken does not come from a listing of these statuses',
          });
        index = Number(m[1]);
        token = m[2] === '' ? undefined : m[2];
      }
      const op = ListJobs.request({
        status: statuses[index],
        maxResults: query.maxResults,
        nextToken: token,
      });
      const page = await call(target, op, ListJobs.response, callOpts);
      const nextToken =
        page.nextToken !== null
          ? `${index}:${page.nextToken}`
          : index + 1 < statuses.length
            ? `${index + 1}:`
            : null;
      return { jobs: page.jobs, nextToken };
    },
  };
}
