/**
 * The Tencent COS `JobControl`: wires the codec (`wire.ts`) and the signer (`sign.ts`) to the shared
 * keep-alive transport through `../signed-call.ts`, which OSS shares. Everything per call is the
 * minimum: the endpoint is parsed once per target, the parser and patterns live at module level,
 * so a call costs a signature and a round trip.
 *
 * @example
 * const cos = createCosControl({ credentials: cosCredentialsFromEnv() });
 * const target = { provider: 'cos', region: 'ap-guangzhou', account: '100000000001', appId: '1250000000' } as const;
 * await cos.updateStatus(target, '53dc6228-c50b-46f7-8ad7-65e7159f1aae', 'Ready', 'off-peak window opened');
 */

import { endpointResolver } from '../endpoint';
import { ProviderError } from '../errors';
import { APPID_PATTERN, RULES } from '../rules';
import { type Decode, type SignedCallOptions, sameJob, signedCaller } from '../signed-call';
import type { CallOptions, Credentials, JobControl, JobPage, Target } from '../types';
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

export interface CosControlOptions extends SignedCallOptions {
  /** Template with `{account}` / `{region}`; default `https://{account}.cos-control.{region}.myqcloud.com`; a plain `http://127.0.0.1:PORT` works. */
  endpoint?: string | undefined;
}

const CURSOR = /^(\d{1,3}):(.*)$/s;

const COS_WIRE = { label: 'COS', requestIdHeader: 'x-cos-request-id', decodeError };

function invalidTarget(message: string): ProviderError {
  return new ProviderError({ kind: 'invalid', code: 'InvalidArgument', message });
}

export function createCosControl(opts: CosControlOptions): JobControl {
  const template = opts.endpoint ?? RULES.cos.defaultEndpoint;
  const originFor = endpointResolver('COS', template);

  const signed = signedCaller(COS_WIRE, opts);

  async function call<T>(
    target: Target,
    op: CosHttpCall,
    decode: Decode<T>,
    callOpts: CallOptions | undefined,
  ): Promise<T> {
    const appId = target.appId;
    if (appId === undefined || !APPID_PATTERN.test(appId))
      throw invalidTarget('a COS target needs appId (sent as x-cos-appid): 1–64 digits');
    const origin = originFor(target);
    const sign = (creds: Credentials, serverNowMs: number) => {
      const headers: Record<string, string> = { host: origin.host, 'x-cos-appid': appId };
      if (creds.sessionToken) headers['x-cos-security-token'] = creds.sessionToken;
      headers.authorization = cosAuthorization(
        { method: op.method, pathname: op.pathname, query: op.query, headers },
        { secretId: creds.accessKeyId, secretKey: creds.secretAccessKey },
        // One second early, as the official SDKs do: a server clock a little behind ours must not
        // see a signature that starts in the future.
        { now: Math.floor(serverNowMs / 1000) - 1 },
      );
      return headers;
    };
    return signed(
      { method: op.method, origin, path: op.path + queryString(op.query), sign },
      decode,
      callOpts,
    );
  }

  return {
    provider: 'cos',
    updateStatus(target, jobId, requested, reason, callOpts) {
      return call(
        target,
        UpdateJobStatus.request(jobId, requested, reason),
        sameJob('COS', jobId, UpdateJobStatus.response),
        callOpts,
      );
    },
    updatePriority(target, jobId, priority, callOpts) {
      return call(
        target,
        UpdateJobPriority.request(jobId, priority),
        sameJob('COS', jobId, UpdateJobPriority.response),
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
