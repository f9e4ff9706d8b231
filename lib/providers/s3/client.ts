/**
 * AWS S3 Batch Operations job control through the SDK's S3 Control client: it already signs
 * (SigV4), serializes and parses S3 Control's REST-XML, so this module only adapts it to
 * `JobControl` — validation before anything is sent, one cached client per region, jobctl's own
 * timeout and retry policy instead of the SDK's, and errors as `ProviderError`s.
 *
 * @example
 * const s3 = createS3Control({ endpoint: process.env.AWS_ENDPOINT_URL_S3_CONTROL });
 * await s3.updateStatus({ provider: 's3', region: 'us-east-1', account: '123456789012' },
 *   'job-0001', 'Ready', 'off-peak window opened');
 */

import {
  DescribeJobCommand,
  ListJobsCommand,
  S3ControlClient,
  type S3ControlClientConfig,
  UpdateJobPriorityCommand,
  UpdateJobStatusCommand,
} from '@aws-sdk/client-s3-control';
import { isClockSkew, ProviderError } from '../errors';
import { EXAMPLE_TARGETS } from '../examples';
import { DEFAULT_TIMEOUT_MS } from '../http';
import { fillEndpoint, MAX_PRIORITY, REGION_PATTERN, REGION_RULE, RULES } from '../rules';
import type {
  CallOptions,
  Job,
  JobControl,
  JobPage,
  ListQuery,
  PriorityResult,
  RequestedJobStatus,
  StatusResult,
  Target,
} from '../types';
import { jobFrom, providerErrorFrom } from './wire';

/** Static keys or a provider of them (the SDK's own types); absent means the default chain. */
export type S3Credentials = NonNullable<S3ControlClientConfig['credentials']>;

export interface S3ControlOptions {
  /**
   * The control endpoint, used as given (e.g. `http://127.0.0.1:9000`); may contain `{account}`
   * and `{region}`. Default: `AWS_ENDPOINT_URL_S3_CONTROL` / `AWS_ENDPOINT_URL`, else
   * `https://{account}.s3-control.{region}.amazonaws.com` as the SDK resolves it.
   */
  endpoint?: string | undefined;
  credentials?: S3Credentials | undefined;
  /** Per-call deadline unless a call passes its own (default 10 s). */
  timeoutMs?: number | undefined;
  /** The SDK's attempts per call (default 1: the controller retries with its own budget). */
  maxAttempts?: number | undefined;
}

export interface S3JobControl extends JobControl {
  /** Destroy the cached clients and their keep-alive sockets. */
  close(): void;
}

/**
 * The endpoint the AWS SDK would take from the environment. Read here rather than left to the SDK
 * because the SDK prefixes the account id to any endpoint host (`123456789012.127.0.0.1`).
 */
export function configuredEndpoint(env: Record<string, string | undefined>): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return undefined;
  return env.AWS_ENDPOINT_URL_S3_CONTROL || env.AWS_ENDPOINT_URL || undefined;
}

export function createS3Control(opts: S3ControlOptions = {}): S3JobControl {
  const endpoint = opts.endpoint ?? configuredEndpoint(process.env);
  if (endpoint !== undefined) checkEndpoint(endpoint);
  const defaultTimeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clients = new Map<string, S3ControlClient>();

  function clientFor(region: string): S3ControlClient {
    let client = clients.get(region);
    if (client) return client;
    const config: S3ControlClientConfig = {
      region,
      maxAttempts: opts.maxAttempts ?? 1,
      // Keep-alive: a control call is a few hundred bytes, a TLS handshake per call would dominate.
      // The overall deadline is the abort signal in `call`; this bounds a connect that never completes.
      requestHandler: {
        connectionTimeout: defaultTimeoutMs,
        httpAgent: { keepAlive: true, maxSockets: 64 },
        httpsAgent: { keepAlive: true, maxSockets: 64 },
      },
    };
    if (opts.credentials !== undefined) config.credentials = opts.credentials;
    if (endpoint !== undefined) {
      // The SDK's resolver puts `{AccountId}.` in front of any custom host; ours uses it verbatim.
      // Signing stays the client's default: service `s3`, the client's region.
      config.endpointProvider = (params) => ({
        url: new URL(fillEndpoint(endpoint, region, params.AccountId)),
      });
    }
    client = new S3ControlClient(config);
    clients.set(region, client);
    return client;
  }

  async function call<T>(
    target: Target,
    callOpts: CallOptions | undefined,
    run: (client: S3ControlClient, account: string, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { region, account } = checkTarget(target);
    const timeoutMs = callOpts?.timeoutMs ?? defaultTimeoutMs;
    const client = clientFor(region);
    for (let attempt = 0; ; attempt++) {
      // A plain controller and timer, not AbortSignal.timeout/any (see http.ts: measured slower).
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      }, timeoutMs);
      timer.unref();
      const parent = callOpts?.signal;
      const onParentAbort = () => ac.abort(parent?.reason);
      if (parent?.aborted) onParentAbort();
      else parent?.addEventListener('abort', onParentAbort, { once: true });
      try {
        return await run(client, account, ac.signal);
      } catch (e) {
        let pe = providerErrorFrom(e, endpointOf(region, account));
        // Our own deadline surfaces as an abort; say "Timeout" unless the caller aborted first.
        if (timedOut && !parent?.aborted && (pe === null || pe.code === 'Aborted'))
          pe = new ProviderError({
            kind: 'timeout',
            code: 'Timeout',
            message: `no response within ${timeoutMs} ms`,
            cause: e,
          });
        if (pe === null) throw e;
        // The SDK has already moved its clock offset to the server's `Date` on a skew refusal;
        // with one SDK attempt it is this retry that signs with the corrected clock.
        if (attempt === 0 && isClockSkew(pe.code, pe.message)) continue;
        throw pe.withoutLiterals(await literalsOf(client));
      } finally {
        clearTimeout(timer);
        parent?.removeEventListener('abort', onParentAbort);
      }
    }
  }

  /** The endpoint as a user may see it: configured or default, never with userinfo. */
  function endpointOf(region: string, account: string): string {
    try {
      const url = new URL(fillEndpoint(endpoint ?? RULES.s3.defaultEndpoint, region, account));
      return url.origin;
    } catch {
      return 'the S3 Control endpoint';
    }
  }

  return {
    provider: 's3',

    async updateStatus(
      target,
      jobId,
      requested: RequestedJobStatus,
      reason,
      callOpts,
    ): Promise<StatusResult> {
      checkJobId(jobId);
      return call(target, callOpts, async (client, account, abortSignal) => {
        const out = await client.send(
          new UpdateJobStatusCommand({
            AccountId: account,
            JobId: jobId,
            RequestedJobStatus: requested,
            // S3 takes 1–256 characters: an empty reason is not sent at all.
            ...(reason ? { StatusUpdateReason: reason } : {}),
          }),
          { abortSignal },
        );
        sameJob(jobId, out.JobId, out.$metadata);
        return {
          jobId,
          // A 200 without a status still means accepted: the job is on its way to `requested`.
          status: out.Status ?? requested,
          statusUpdateReason: out.StatusUpdateReason ?? null,
        };
      });
    },

    async updatePriority(target, jobId, priority, callOpts): Promise<PriorityResult> {
      checkJobId(jobId);
      if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
        throw invalid(`priority must be an integer from 0 to ${MAX_PRIORITY}`);
      return call(target, callOpts, async (client, account, abortSignal) => {
        const out = await client.send(
          new UpdateJobPriorityCommand({ AccountId: account, JobId: jobId, Priority: priority }),
          { abortSignal },
        );
        sameJob(jobId, out.JobId, out.$metadata);
        return { jobId, priority: out.Priority ?? priority };
      });
    },

    async describe(target, jobId, callOpts): Promise<Job> {
      checkJobId(jobId);
      return call(target, callOpts, async (client, account, abortSignal) => {
        const out = await client.send(new DescribeJobCommand({ AccountId: account, JobId: jobId }), {
          abortSignal,
        });
        if (!out.Job)
          throw new ProviderError({
            kind: 'server',
            code: 'MalformedResponse',
            message: 'DescribeJob answered without a Job',
            httpStatus: out.$metadata.httpStatusCode,
            requestId: out.$metadata.requestId,
          });
        return jobFrom(out.Job);
      });
    },

    async list(target, query: ListQuery, callOpts): Promise<JobPage> {
      return call(target, callOpts, async (client, account, abortSignal) => {
        const out = await client.send(
          new ListJobsCommand({
            AccountId: account,
            ...(query.statuses?.length ? { JobStatuses: [...query.statuses] } : {}),
            ...(query.maxResults !== undefined ? { MaxResults: query.maxResults } : {}),
            ...(query.nextToken ? { NextToken: query.nextToken } : {}),
          }),
          { abortSignal },
        );
        return { jobs: (out.Jobs ?? []).map(jobFrom), nextToken: out.NextToken || null };
      });
    },

    close() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
}

/** The caller's own key id, secret and token, for redaction: a provider may echo any of them. */
async function literalsOf(client: S3ControlClient): Promise<string[]> {
  try {
    const c = await client.config.credentials();
    return [c.accessKeyId, c.secretAccessKey, c.sessionToken ?? ''];
  } catch {
    return [];
  }
}

/** An answer naming another job than the one asked about cannot be trusted as this job's. */
function sameJob(
  jobId: string,
  answered: string | undefined,
  meta: { httpStatusCode?: number; requestId?: string },
) {
  if (answered !== undefined && answered !== jobId)
    throw new ProviderError({
      kind: 'server',
      code: 'MalformedResponse',
      message: 'S3 answered about another job',
      httpStatus: meta.httpStatusCode,
      requestId: meta.requestId,
    });
}

const invalid = (message: string) => new ProviderError({ kind: 'invalid', code: 'InvalidArgument', message });

// Region and account become part of the host and the signed headers: refuse anything else here
// too, whoever the caller is (the transition model checks them first for queued messages).
function checkTarget(target: Target): { region: string; account: string } {
  if (!REGION_PATTERN.test(target.region)) throw invalid(`region ${REGION_RULE}`);
  if (target.account === undefined || !RULES.s3.account.pattern.test(target.account))
    throw invalid(`account must be ${RULES.s3.account.rule}`);
  return { region: target.region, account: target.account };
}

function checkJobId(jobId: string): void {
  if (!RULES.s3.jobId.pattern.test(jobId)) throw invalid(`jobId must be ${RULES.s3.jobId.rule}`);
}

function checkEndpoint(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(fillEndpoint(endpoint, EXAMPLE_TARGETS.s3.region, EXAMPLE_TARGETS.s3.account));
  } catch {
    // Not echoed: an endpoint may carry userinfo.
    throw new Error('the S3 Control endpoint is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`the S3 Control endpoint must be http(s), not ${url.protocol}`);
}
