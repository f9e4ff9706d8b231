/**
 * The embedded SQS-compatible queue for `jobctl run` and the integration tests: fauxqs, bound to
 * 127.0.0.1 only (its own starter listens on every interface), spoken to over the real SQS wire.
 * With a data directory its state survives the process (see ./persist).
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type BuildAppOptions, buildApp } from 'fauxqs';
import { newSqsStore, openQueuePersistence, type PersistenceOptions, type RestoreReport } from './persist';

export interface EmbeddedQueue {
  endpoint: string;
  port: number;
  /** With a data directory: what was found there at start. */
  restored?: RestoreReport | undefined;
  stop(): Promise<void>;
}

export async function startEmbeddedQueue(
  opts: {
    port?: number;
    region?: string;
    /** Keep queues and messages in `<dataDir>/queue.jsonl` across restarts (even kill -9). */
    dataDir?: string | undefined;
    persistence?: PersistenceOptions;
  } = {},
): Promise<EmbeddedQueue> {
  const persistence = opts.dataDir ? await openQueuePersistence(opts.dataDir, opts.persistence) : undefined;
  const sqsStore = persistence?.store ?? (await newSqsStore());
  // Queue URLs named after the host the client called (`http://127.0.0.1:PORT/000000000000/NAME`),
  // not fauxqs's `sqs.<region>.localhost`, which plain SQS clients and the AWS CLI cannot resolve:
  // printed URLs work as they are, with no endpoint override.
  sqsStore.host = '';
  // buildApp makes its own SNS and S3 stores when only the SQS one is given.
  const stores = { sqsStore } as unknown as BuildAppOptions['stores'];
  const app = buildApp({ logger: false, defaultRegion: opts.region ?? 'us-east-1', stores });
  let address: string;
  try {
    address = await app.listen({ port: opts.port ?? 0, host: '127.0.0.1' });
  } catch (e) {
    persistence?.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new PortTakenError(opts.port ?? 0, 'the embedded queue', '--queue-port');
    throw e;
  }
  const port = Number(new URL(address).port);
  persistence?.attach(port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    restored: persistence?.restored,
    async stop() {
      persistence?.stopReceiving();
      try {
        await app.close();
      } finally {
        persistence?.close();
      }
    },
  };
}

/** A fixed port already in use: says by what, and the flag that picks another. */
export class PortTakenError extends Error {
  override readonly name = 'PortTakenError';
  constructor(port: number, what: string, flag: string) {
    super(
      `port ${port} for ${what} is taken (another \`jobctl run\` in another directory?): stop it, or pick another port with ${flag} N (0: any free port)`,
    );
  }
}

export interface QueueSet {
  requestsQueueUrl: string;
  resultsQueueUrl: string;
  dlqUrl: string;
}

export interface QueueSetOptions {
  /** Name prefix, e.g. `jobctl-local`. */
  prefix: string;
  fifo?: boolean;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
}

/**
 * The queues serverless.yml declares: requests (with its DLQ and redrive policy) and results.
 * Queues that already exist (kept in a data directory) are brought to these settings.
 */
export async function createQueueSet(sqs: SQSClient, o: QueueSetOptions): Promise<QueueSet> {
  const suffix = o.fifo ? '.fifo' : '';
  const fifoAttrs: Record<string, string> = o.fifo
    ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' }
    : {};
  const dlqUrl = await ensureQueue(sqs, `${o.prefix}-requests-dlq${suffix}`, {
    ...fifoAttrs,
    MessageRetentionPeriod: '1209600',
  });
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  const requestsQueueUrl = await ensureQueue(sqs, `${o.prefix}-requests${suffix}`, {
    ...fifoAttrs,
    VisibilityTimeout: String(o.visibilityTimeoutSeconds ?? 180),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: o.maxReceiveCount ?? 5 }),
  });
  const resultsQueueUrl = await ensureQueue(sqs, `${o.prefix}-results`, {});
  return { requestsQueueUrl, resultsQueueUrl, dlqUrl };
}

/**
 * CreateQueue; when the queue exists with other settings (a restart on the same data directory
 * with another --visibility-timeout-s), SQS refuses with QueueNameExists: update it instead, as
 * a redeploy would, keeping its messages.
 */
async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  try {
    return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
  } catch (e) {
    // The SDK names it after the awsQueryCompatible header: AWS.SimpleQueueService.QueueNameExists.
    if (!/QueueNameExists$/.test((e as { name?: string }).name ?? '')) throw e;
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    // FifoQueue cannot change, and the name already fixes it.
    const { FifoQueue: _, ...settable } = attributes;
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: settable }));
    return QueueUrl!;
  }
}
