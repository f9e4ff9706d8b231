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
import { type HttpRequest, type HttpResponse, type SendOptions, send } from '../http';
import { RULES } from '../rules';
import type { CallOptions, CredentialSource, JobControl, Target } from '../types';
import { ossAuthorization, ossDate, UNSIGNED_PAYLOAD } from './sign';
import {
  decodeDescribe,
  decodeError,
  decodeList,
  decodePriorityResult,
  decodeStatusResult,
  describeOp,
  encodeQuery,
  listOp,
  type OssOperation,
  updatePriorityOp,
  updateStatusOp,
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

  async function call(target: Target, op: OssOperation, callOpts: CallOptions | undefined) {
    const ep = endpointFor(target);
    const creds = await opts.credentials();
    const date = new Date(now());
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
    if (res.status < 200 || res.status > 299) throw decodeError(res.status, res.headers, res.body);
    return res.body;
  }

  return {
    provider: 'oss',
    async updateStatus(target, jobId, requested, reason, callOpts) {
      return decodeStatusResult(await call(target, updateStatusOp(jobId, requested, reason), callOpts));
    },
    async updatePriority(target, jobId, priority, callOpts) {
      return decodePriorityResult(await call(target, updatePriorityOp(jobId, priority), callOpts));
    },
    async describe(target, jobId, callOpts) {
      return decodeDescribe(await call(target, describeOp(jobId), callOpts));
    },
    async list(target, query, callOpts) {
      return decodeList(await call(target, listOp(query), callOpts));
    },
  };
}
