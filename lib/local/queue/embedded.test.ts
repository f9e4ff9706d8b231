/**
 * The embedded queue as `jobctl run` starts it: the queue set of serverless.yml, created fresh or
 * found again in a data directory and brought to this run's settings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetQueueAttributesCommand,
  ListQueuesCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqsClient } from '../../lambda/sqs';
import { createQueueSet, type EmbeddedQueue, startEmbeddedQueue } from './embedded';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(dataDir?: string): Promise<{ queue: EmbeddedQueue; sqs: SQSClient }> {
  const queue = await startEmbeddedQueue({ dataDir });
  cleanup.push(() => queue.stop());
  const sqs = createSqsClient({
    AWS_ENDPOINT_URL_SQS: queue.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'k',
    AWS_SECRET_ACCESS_KEY: 's',
  });
  return { queue, sqs };
}

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-embedded-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const attrs = async (sqs: SQSClient, url: string) =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes!;

describe('createQueueSet', () => {
  it('creates requests (with DLQ and redrive policy) and results', async () => {
    const { sqs } = await start();
    const set = await createQueueSet(sqs, { prefix: 'p', visibilityTimeoutSeconds: 7, maxReceiveCount: 3 });
    expect(set.requestsQueueUrl).toMatch(/\/p-requests$/);
    expect(set.dlqUrl).toMatch(/\/p-requests-dlq$/);
    expect(set.resultsQueueUrl).toMatch(/\/p-results$/);
    const a = await attrs(sqs, set.requestsQueueUrl);
    expect(a.VisibilityTimeout).toBe('7');
    expect(JSON.parse(a.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: (await attrs(sqs, set.dlqUrl)).QueueArn,
      maxReceiveCount: 3,
    });
  });

  it('on a restart with other settings, updates the kept queues and keeps their messages', async () => {
    const dir = tempDir();
    const first = await start(dir);
    const before = await createQueueSet(first.sqs, {
      prefix: 'p',
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 5,
    });
    await first.sqs.send(new SendMessageCommand({ QueueUrl: before.requestsQueueUrl, MessageBody: 'kept' }));
    await first.queue.stop();

    const second = await start(dir);
    const after = await createQueueSet(second.sqs, {
      prefix: 'p',
      visibilityTimeoutSeconds: 5,
      maxReceiveCount: 2,
    });
    const a = await attrs(second.sqs, after.requestsQueueUrl);
    expect(a.VisibilityTimeout).toBe('5');
    expect(JSON.parse(a.RedrivePolicy!).maxReceiveCount).toBe(2);
    expect(a.ApproximateNumberOfMessages).toBe('1');
  });
});

describe('startEmbeddedQueue', () => {
  it('without a data directory keeps nothing: a restart starts empty', async () => {
    const first = await start();
    const set = await createQueueSet(first.sqs, { prefix: 'p' });
    await first.sqs.send(new SendMessageCommand({ QueueUrl: set.requestsQueueUrl, MessageBody: 'gone' }));
    expect(first.queue.restored).toBeUndefined();
    await first.queue.stop();

    const second = await start();
    expect((await second.sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
  });
});
