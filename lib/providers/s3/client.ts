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
import { ProviderError } from '../errors';
import { DEFAULT_TIMEOUT_MS } from '../http';
import { fillEndpoint, REGION_PATTERN, REGION_RULE, RULES } from '../rules';
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

const MAX_PRIORITY = 2147483647;

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
    run: (client: S3ControlClient, account: string, abortSignal: CallSignal) => Promise<T>,
  ): Promise<T> {
    const { region, account } = checkTarget(target);
    const timeoutMs = callOpts?.timeoutMs ?? defaultTimeoutMs;
    const deadline = new CallSignal(timeoutMs, callOpts?.signal);
    try {
      return await run(clientFor(region), account, deadline);
    } catch (e) {
      const pe = providerErrorFrom(e);
      // Our own deadline surfaces as an abort; say "Timeout" unless the caller aborted first.
      if (deadline.timedOut && !callOpts?.signal?.aborted && (pe === null || pe.code === 'Aborted'))
        throw new ProviderError({
          kind: 'timeout',
          code: 'Timeout',
          message: `no response within ${timeoutMs} ms`,
          cause: e,
        });
      throw pe ?? e;
    } finally {
      deadline.dispose();
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
        return {
          jobId: out.JobId ?? jobId,
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
        return { jobId: out.JobId ?? jobId, priority: out.Priority ?? priority };
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
            code: 'InvalidResponse',
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

/**
 * A call's abort signal for the SDK: aborted by the call's deadline or by the caller's own signal.
 * The SDK asks of a signal only `aborted`, `reason` and add/removeEventListener (or `onabort`);
 * Node's AbortSignal is an EventTarget whose listener bookkeeping — the SDK adds and removes two
 * listeners per call — cost about 5% of a whole call against a local endpoint, where this
 * keeps its listeners in an array.
 */
class CallSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((ev: { type: 'abort' }) => void) | null = null;
  /** Aborted by the deadline (rather than by the caller). */
  timedOut = false;
  private listeners: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly onParentAbort: (() => void) | undefined;

  constructor(
    timeoutMs: number,
    private readonly parent: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, timeoutMs);
    this.timer.unref();
    if (parent?.aborted) this.abort(parent.reason);
    else if (parent !== undefined) {
      this.onParentAbort = () => this.abort(parent.reason);
      parent.addEventListener('abort', this.onParentAbort, { once: true });
    }
  }

  addEventListener(type: string, listener: () => void): void {
    if (type === 'abort' && !this.aborted) this.listeners.push(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    const i = type === 'abort' ? this.listeners.indexOf(listener) : -1;
    if (i >= 0) this.listeners.splice(i, 1);
  }

  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l();
    this.onabort?.({ type: 'abort' });
  }

  /** The call is over: stop the deadline and stop listening to the caller. */
  dispose(): void {
    clearTimeout(this.timer);
    if (this.onParentAbort !== undefined) this.parent?.removeEventListener('abort', this.onParentAbort);
  }
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
    url = new URL(fillEndpoint(endpoint, 'us-east-1', '123456789012'));
  } catch {
    // Not echoed: an endpoint may carry userinfo.
    throw new Error('the S3 Control endpoint is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`the S3 Control endpoint must be http(s), not ${url.protocol}`);
}
