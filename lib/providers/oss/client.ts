/**
 * Alibaba OSS batch-job control: `wire` says what to send, `sign` signs it (V4), the shared
 * keep-alive transport sends it (`../signed-call.ts`, shared with COS), `wire` reads the answer.
 * Everything per target that does not change between calls (origin, Host) is computed once, so a
 * call is a few string joins, one HMAC chain and one small XML parse.
 *
 * @example
 * const oss = createOssControl({ credentials: ossCredentialsFromEnv() });
 * await oss.updateStatus({ provider: 'oss', region: 'cn-hangzhou' }, jobId, 'Ready', 'window open');
 */

import { endpointResolver } from '../endpoint';
import { RULES } from '../rules';
import { type Decode, type SignedCallOptions, sameJob, signedCaller } from '../signed-call';
import type { CallOptions, Credentials, JobControl, Target } from '../types';
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

export interface OssControlOptions extends SignedCallOptions {
  /** Endpoint template with a `{region}` placeholder; default `https://oss-{region}.aliyuncs.com`. */
  endpoint?: string | undefined;
}

// Signing `host` binds the signature to the endpoint it was meant for.
const SIGNED_EXTRA = ['host'];

const OSS_WIRE = { label: 'OSS', requestIdHeader: 'x-oss-request-id', decodeError };

export function createOssControl(opts: OssControlOptions): JobControl {
  const template = opts.endpoint ?? RULES.oss.defaultEndpoint;
  const endpointFor = endpointResolver('OSS', template);
  const signed = signedCaller(OSS_WIRE, opts);

  async function call<T>(
    target: Target,
    op: OssOperation,
    decode: Decode<T>,
    callOpts: CallOptions | undefined,
  ): Promise<T> {
    const origin = endpointFor(target);
    const sign = (creds: Credentials, serverNowMs: number) => {
      const date = new Date(serverNowMs);
      const headers: Record<string, string> = {
        host: origin.host,
        'x-oss-date': ossDate(date),
        'x-oss-content-sha256': UNSIGNED_PAYLOAD,
      };
      if (creds.sessionToken) headers['x-oss-security-token'] = creds.sessionToken;
      headers.authorization = ossAuthorization(
        { method: op.method, pathname: '/', query: op.query, headers },
        { accessKeyId: creds.accessKeyId, accessKeySecret: creds.secretAccessKey },
        { region: target.region, date, additionalHeaders: SIGNED_EXTRA },
      );
      return headers;
    };
    return signed({ method: op.method, origin, path: `/?${encodeQuery(op.query)}`, sign }, decode, callOpts);
  }

  return {
    provider: 'oss',
    async updateStatus(target, jobId, requested, reason, callOpts) {
      return call(
        target,
        UpdateJobStatus.request(jobId, requested, reason),
        sameJob('OSS', jobId, UpdateJobStatus.response),
        callOpts,
      );
    },
    async updatePriority(target, jobId, priority, callOpts) {
      return call(
        target,
        UpdateJobPriority.request(jobId, priority),
        sameJob('OSS', jobId, UpdateJobPriority.response),
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
