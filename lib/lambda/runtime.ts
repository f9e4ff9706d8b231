/**
 * Everything a function invocation needs, built once per process from the environment (the same
 * variables for Lambda and `jobctl run`, see docs/reference.md), so a warm Lambda reuses its clients,
 * keep-alive connections and cached credentials.
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Allowlist, parseAllowlist } from '../core/allowlist';
import { type Controller, createController } from '../core/controller';
import { DEFAULT_RETRY, type RetryPolicy } from '../core/retry';
import { type ProviderRegistry, providersFromEnv } from '../providers/index';
import type { BatchDeps } from './batch';
import { createLedger, type Ledger, type SettledMessage } from './ledger';
import { createObserver, type Observer } from './observe';
import { createPublisher, type Publisher } from './publisher';
import { createSendingClient, sendAll } from './sqs';
import { createStateClient, StateStore } from './state';

export interface RuntimeConfig {
  requestsQueueUrl: string;
  resultsQueueUrl: string;
  concurrency: number;
  reserveMs: number;
  retry: RetryPolicy;
  allowlist: Allowlist;
}

export interface Runtime
  extends Pick<
    BatchDeps,
    | 'controller'
    | 'publisher'
    | 'enqueue'
    | 'concurrency'
    | 'reserveMs'
    | 'onOutcome'
    | 'onFanout'
    | 'retryAfter'
  > {
  config: RuntimeConfig;
  sqs: SQSClient;
  providers: ProviderRegistry;
  observer: Observer;
  /**
   * The shared transition state and the ledger, in JOBCTL_TABLE; null without one (then
   * transitions are applied unguarded, as before the table existed).
   */
  state: StateStore | null;
  ledger: Ledger | null;
  /** The one DynamoDB client both use (null without JOBCTL_TABLE). */
  dynamo: DynamoDBDocumentClient | null;
}

const int = (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
};

/** The controller's policy alone: what `jobctl apply`, `describe` and `list` need (no queues). */
export function readControllerConfig(
  env: NodeJS.ProcessEnv,
): Pick<RuntimeConfig, 'retry' | 'allowlist' | 'concurrency'> {
  if (env.JOBCTL_REQUIRE_ALLOWLIST === 'true' && !env.JOBCTL_ALLOWED_TARGETS?.trim())
    throw new Error('JOBCTL_ALLOWED_TARGETS must be set (this deployment requires an allowlist)');
  return {
    // Ten in flight keeps a batch of ten at the speed of one call, well under COS/OSS/S3 control-plane limits.
    concurrency: int(env, 'JOBCTL_CONCURRENCY', 10, 1, 100),
    retry: {
      ...DEFAULT_RETRY,
      maxAttempts: int(env, 'JOBCTL_MAX_ATTEMPTS', DEFAULT_RETRY.maxAttempts, 1, 20),
      callTimeoutMs: int(env, 'JOBCTL_CALL_TIMEOUT_MS', DEFAULT_RETRY.callTimeoutMs, 100, 120_000),
      budgetMs: int(env, 'JOBCTL_RETRY_BUDGET_MS', DEFAULT_RETRY.budgetMs, 100, 900_000),
    },
    allowlist: parseAllowlist(env.JOBCTL_ALLOWED_TARGETS),
  };
}

export function readConfig(env: NodeJS.ProcessEnv): RuntimeConfig {
  const resultsQueueUrl = env.RESULTS_QUEUE_URL ?? '';
  if (!resultsQueueUrl) throw new Error('RESULTS_QUEUE_URL is not set');
  return {
    ...readControllerConfig(env),
    requestsQueueUrl: env.REQUESTS_QUEUE_URL ?? '',
    resultsQueueUrl,
    reserveMs: int(env, 'JOBCTL_RESERVE_MS', 2_000, 0, 60_000),
  };
}

export function createRuntime(
  env: NodeJS.ProcessEnv = process.env,
  overrides: { sqs?: SQSClient; observer?: Observer; dynamo?: DynamoDBDocumentClient } = {},
): Runtime {
  const config = readConfig(env);
  // Used only under sendAll (outcomes, fan-out), which retries for itself.
  const sqs = overrides.sqs ?? createSendingClient(env);
  const providers = providersFromEnv(env, config.retry.callTimeoutMs);
  const controller: Controller = createController({
    providers,
    allowlist: config.allowlist,
    retry: config.retry,
  });
  const publisher: Publisher = createPublisher(sqs, config.resultsQueueUrl);
  const observer = overrides.observer ?? createObserver(env.POWERTOOLS_SERVICE_NAME ?? 'jobctl');
  const table = env.JOBCTL_TABLE || '';
  // One client for the state and the ledger: one connection pool, one retry policy (state.ts's).
  const dynamo = table ? (overrides.dynamo ?? createStateClient(env)) : null;
  const ttl = Number(env.JOBCTL_IDEMPOTENCY_TTL_S);
  const state = dynamo
    ? new StateStore({
        client: dynamo,
        tableName: table,
        ...(Number.isInteger(ttl) && ttl > 0 ? { ttlS: ttl } : {}),
      })
    : null;
  const ledger = dynamo
    ? createLedger({
        client: dynamo,
        table,
        retentionDays: int(env, 'JOBCTL_LEDGER_RETENTION_DAYS', 400, 1, 3650),
        // Through the one publisher: settled messages carry the same attributes (type, verdict,
        // provider) whichever path publishes them.
        publish: (m: SettledMessage) => publisher.publish(m),
      })
    : null;
  return {
    config,
    sqs,
    providers,
    observer,
    state,
    ledger,
    dynamo,
    controller,
    publisher,
    concurrency: config.concurrency,
    reserveMs: config.reserveMs,
    enqueue: (messages, deadline) => {
      if (!config.requestsQueueUrl) throw new Error('REQUESTS_QUEUE_URL is not set (needed to fan out)');
      return sendAll(sqs, config.requestsQueueUrl, messages, { deadline });
    },
    onOutcome: observer.outcome,
    onFanout: observer.fanout,
    retryAfter: async (record, seconds) => {
      if (!config.requestsQueueUrl) return;
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: config.requestsQueueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
  };
}

/**
 * The runtime a deployed function uses, built from `env` on the first invocation (not at import:
 * importing a handler reads nothing) and kept for the container's life.
 */
export function runtimeFromEnv(env: NodeJS.ProcessEnv = process.env): () => Runtime {
  let built: Runtime | undefined;
  return () => {
    built ??= createRuntime(env);
    return built;
  };
}

/** A runtime, or how to build it on first use. */
export type RuntimeSource = Runtime | (() => Runtime);
export const resolveRuntime = (r: RuntimeSource): Runtime => (typeof r === 'function' ? r() : r);
