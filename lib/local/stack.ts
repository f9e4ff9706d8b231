/**
 * The deployed stack's parts on one machine, wired once: the embedded queue (fauxqs), the sandbox
 * provider, a local DynamoDB (dynalite) holding serverless.yml's table, and a runtime on them with
 * the real handlers. `jobctl run`, the integration tests and the benchmarks all start it here,
 * so what they exercise is the same wiring.
 *
 * Whatever the caller's environment already configures is used as it is: REQUESTS_QUEUE_URL (no
 * embedded queue), JOBCTL_TABLE (no local DynamoDB); `sandbox: false` starts no sandbox.
 *
 * @example
 * const stack = await startLocalStack({ queue: { port: 0 }, sandbox: { pace: false }, dynamo: {} });
 * await stack.handlers.transitions(event, context);
 * await stack.close();
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  createScheduleHandler,
  createTransitionsHandler,
  type ScheduleHandler,
  type TransitionsHandler,
} from '../lambda/handlers';
import type { Observer } from '../lambda/observe';
import { createRuntime, type Runtime } from '../lambda/runtime';
import { createSqsClient } from '../lambda/sqs';
import { createStateClient } from '../lambda/state';
import { LOCAL_CREDENTIALS, type LocalDynamo, startLocalDynamo } from './dynamo';
import {
  createQueueSet,
  type EmbeddedQueue,
  PortTakenError,
  type QueueSet,
  startEmbeddedQueue,
} from './queue/embedded';
import type { Sandbox, SandboxOptions } from './sandbox/server';

export interface LocalStackOptions {
  /** The caller's environment: configured queues, table and providers are used as they are. */
  env?: NodeJS.ProcessEnv;
  /** The embedded queue and its queue set; ignored when env has REQUESTS_QUEUE_URL. */
  queue?: {
    port?: number;
    dataDir?: string | undefined;
    /** Queue names' prefix; default `jobctl-local`. */
    prefix?: string;
    fifo?: boolean;
    visibilityTimeoutSeconds?: number;
    maxReceiveCount?: number;
  };
  /** The sandbox's options; `false`: none (a provider is configured). */
  sandbox?: SandboxOptions | false;
  /** The local DynamoDB; `false`: none (transitions unguarded). Ignored when env has JOBCTL_TABLE. */
  dynamo?: { port?: number; dataDir?: string | undefined; serverlessYml?: string } | false;
  /** Signs requests to the embedded queue (it accepts any): made up, never the caller's. */
  queueKeys?: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
  observer?: Observer;
  /** The flags that pick another port, named when a fixed port is taken (`jobctl run`'s). */
  ports?: { sandbox?: string; dynamo?: string };
  /** Set last, over what the parts put in the environment (tests: a broken key, another queue). */
  overrides?: NodeJS.ProcessEnv;
}

export interface LocalStack {
  /** The environment the handlers read, as a Lambda would have it. */
  env: NodeJS.ProcessEnv;
  /** KEY=value lines another terminal may export: only values this stack made up or started. */
  lines: [string, string][];
  sqs: SQSClient;
  queue?: EmbeddedQueue | undefined;
  queues: QueueSet | undefined;
  sandbox?: Sandbox | undefined;
  dynamo?: LocalDynamo | undefined;
  /** The runtime the handlers use; `rewire` replaces it. */
  runtime: Runtime;
  handlers: { transitions: TransitionsHandler; schedule: ScheduleHandler };
  /** A new runtime on the same parts (another env, SQS client or observer), used by the handlers from now on. */
  rewire(o?: { env?: NodeJS.ProcessEnv; sqs?: SQSClient; observer?: Observer }): Runtime;
  close(): Promise<void>;
}

const LOCAL_QUEUE_KEYS = {
  AWS_ACCESS_KEY_ID: 'jobctl-local',
  AWS_SECRET_ACCESS_KEY: 'jobctl-local-not-a-secret',
};

export async function startLocalStack(o: LocalStackOptions = {}): Promise<LocalStack> {
  const env: NodeJS.ProcessEnv = { ...o.env };
  env.AWS_REGION ||= 'us-east-1';
  const lines: [string, string][] = [];
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0)) await c().catch(() => undefined);
  };
  try {
    let sandbox: Sandbox | undefined;
    if (o.sandbox !== false) {
      const { startSandbox } = await import('./sandbox/server');
      const so = o.sandbox ?? {};
      const sb = await startSandbox(so).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE')
          throw new PortTakenError(so.port ?? 0, 'the sandbox', o.ports?.sandbox ?? 'another port');
        throw e;
      });
      sandbox = sb;
      closers.unshift(() => sb.close());
      // The sandbox's keys are its own inventions (they open nothing else): safe to print.
      for (const [k, v] of Object.entries(sb.env)) {
        env[k] = v;
        lines.push([k, v]);
      }
    }

    let sqs: SQSClient;
    let queue: EmbeddedQueue | undefined;
    let queues: QueueSet | undefined;
    if (!env.REQUESTS_QUEUE_URL) {
      const q = await startEmbeddedQueue({
        region: env.AWS_REGION,
        port: o.queue?.port ?? 0,
        ...(o.queue?.dataDir ? { dataDir: o.queue.dataDir } : {}),
      });
      queue = q;
      closers.push(() => q.stop());
      env.AWS_ENDPOINT_URL_SQS = q.endpoint;
      const keys = o.queueKeys ?? LOCAL_QUEUE_KEYS;
      // The queue accepts any signature, but the SDK insists on signing with something. Never
      // the caller's keys: they would end up printed for another terminal.
      sqs = createSqsClient({ ...env, ...keys, AWS_SESSION_TOKEN: '' });
      queues = await createQueueSet(sqs, {
        prefix: o.queue?.prefix ?? 'jobctl-local',
        fifo: o.queue?.fifo === true,
        ...(o.queue?.maxReceiveCount !== undefined ? { maxReceiveCount: o.queue.maxReceiveCount } : {}),
        ...(o.queue?.visibilityTimeoutSeconds !== undefined
          ? { visibilityTimeoutSeconds: o.queue.visibilityTimeoutSeconds }
          : {}),
      });
      env.REQUESTS_QUEUE_URL = queues.requestsQueueUrl;
      env.RESULTS_QUEUE_URL ||= queues.resultsQueueUrl;
      env.DLQ_URL = queues.dlqUrl;
      lines.push(
        ['AWS_ENDPOINT_URL_SQS', q.endpoint],
        ['AWS_REGION', env.AWS_REGION],
        ['REQUESTS_QUEUE_URL', queues.requestsQueueUrl],
        ['RESULTS_QUEUE_URL', env.RESULTS_QUEUE_URL],
        ['DLQ_URL', queues.dlqUrl],
      );
      // Another terminal needs keys to sign with: made-up ones, unless the sandbox's are already
      // printed or the caller has keys of their own there (which are never printed).
      if (!lines.some(([k]) => k === 'AWS_ACCESS_KEY_ID') && !o.env?.AWS_ACCESS_KEY_ID)
        lines.push(...Object.entries(keys));
    } else {
      sqs = createSqsClient(env);
    }
    if (!env.RESULTS_QUEUE_URL) throw new Error('REQUESTS_QUEUE_URL is set but RESULTS_QUEUE_URL is not');

    let dynamo: LocalDynamo | undefined;
    if (!env.JOBCTL_TABLE && o.dynamo !== false && o.dynamo !== undefined) {
      const port = o.dynamo.port ?? 0;
      const d = await startLocalDynamo({
        port,
        ...(o.dynamo.dataDir ? { dataDir: o.dynamo.dataDir } : {}),
        ...(o.dynamo.serverlessYml ? { serverlessYml: o.dynamo.serverlessYml } : {}),
      }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE' || /EADDRINUSE/.test(String(e.message)))
          throw new PortTakenError(port, 'the local DynamoDB', o.ports?.dynamo ?? 'another port');
        throw e;
      });
      dynamo = d;
      closers.push(() => d.close());
      env.AWS_ENDPOINT_URL_DYNAMODB = d.endpoint;
      env.JOBCTL_TABLE = d.tableName;
      lines.push(['AWS_ENDPOINT_URL_DYNAMODB', d.endpoint], ['JOBCTL_TABLE', d.tableName]);
    }
    Object.assign(env, o.overrides);
    // dynalite checks that requests are signed, not by whom: its own made-up keys, never the
    // caller's (nor the sandbox's, which S3 signs with). One client for every runtime on the stack.
    const dynamoClient = dynamo
      ? createStateClient({
          ...env,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_SESSION_TOKEN: '',
        })
      : undefined;
    const build = (r: { env?: NodeJS.ProcessEnv; sqs?: SQSClient; observer?: Observer }) =>
      createRuntime(
        { ...env, ...r.env },
        {
          sqs: r.sqs ?? sqs,
          ...(dynamoClient ? { dynamo: dynamoClient } : {}),
          ...(r.observer ? { observer: r.observer } : {}),
        },
      );
    closers.push(async () => dynamoClient?.destroy());

    const stack: LocalStack = {
      env,
      lines,
      sqs,
      queue,
      queues,
      sandbox,
      dynamo,
      runtime: build(o.observer ? { observer: o.observer } : {}),
      handlers: {
        transitions: createTransitionsHandler(() => stack.runtime),
        schedule: createScheduleHandler(() => stack.runtime),
      },
      rewire(r = {}) {
        stack.runtime = build(r);
        return stack.runtime;
      },
      close,
    };
    return stack;
  } catch (e) {
    await close();
    throw e;
  }
}
