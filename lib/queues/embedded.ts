/**
 * The embedded SQS-compatible queue for `jobctl run` and the integration tests: fauxqs, bound to
 * 127.0.0.1 only (its own starter listens on every interface), spoken to over the real SQS wire.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';

export interface EmbeddedQueue {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedQueue(
  opts: { port?: number; region?: string; dataDir?: string | undefined } = {},
): Promise<EmbeddedQueue> {
  const app = buildApp({ logger: false, defaultRegion: opts.region ?? 'us-east-1' });
  const address = await app.listen({ port: opts.port ?? 0, host: '127.0.0.1' });
  const port = Number(new URL(address).port);
  return { endpoint: `http://127.0.0.1:${port}`, port, stop: () => app.close() };
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

/** The queues serverless.yml declares: requests (with its DLQ and redrive policy) and results. */
export async function createQueueSet(sqs: SQSClient, o: QueueSetOptions): Promise<QueueSet> {
  const suffix = o.fifo ? '.fifo' : '';
  const fifoAttrs: Record<string, string> = o.fifo
    ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' }
    : {};
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${o.prefix}-requests-dlq${suffix}`,
      Attributes: { ...fifoAttrs, MessageRetentionPeriod: '1209600' },
    }),
  );
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  const requests = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${o.prefix}-requests${suffix}`,
      Attributes: {
        ...fifoAttrs,
        VisibilityTimeout: String(o.visibilityTimeoutSeconds ?? 180),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: o.maxReceiveCount ?? 5,
        }),
      },
    }),
  );
  const results = await sqs.send(new CreateQueueCommand({ QueueName: `${o.prefix}-results` }));
  return { requestsQueueUrl: requests.QueueUrl!, resultsQueueUrl: results.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}
