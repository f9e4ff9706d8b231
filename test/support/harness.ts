/**
 * The real parts, started for a test over 127.0.0.1 by lib/local/stack.ts (as `jobctl run` starts
 * them): the embedded queue (fauxqs), the sandbox provider, the local DynamoDB table, and a runtime
 * wired to them with the real handlers.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import type { ResultRecord } from '../../lib/lambda/publisher';
import { lambdaContext } from '../../lib/local/event-source-mapping';
import type { QueueSet } from '../../lib/local/queue/embedded';
import type { Sandbox, SandboxOptions } from '../../lib/local/sandbox/server';
import { type LocalStack, startLocalStack } from '../../lib/local/stack';

export interface Stack extends LocalStack {
  queues: QueueSet;
  sandbox: Sandbox;
}

let n = 0;

export async function startStack(
  o: {
    sandbox?: SandboxOptions;
    env?: NodeJS.ProcessEnv;
    fifo?: boolean;
    visibilityTimeoutSeconds?: number;
    maxReceiveCount?: number;
    /** The local DynamoDB table (state and ledger); default on. */
    state?: boolean;
  } = {},
): Promise<Stack> {
  const stack = await startLocalStack({
    env: { JOBCTL_RETRY_BUDGET_MS: '5000' },
    overrides: o.env,
    queue: {
      prefix: `t${process.pid}-${n++}`,
      fifo: o.fifo === true,
      visibilityTimeoutSeconds: o.visibilityTimeoutSeconds ?? 30,
      maxReceiveCount: o.maxReceiveCount ?? 5,
    },
    sandbox: { pace: false, ...o.sandbox },
    dynamo: o.state === false ? false : {},
  });
  return stack as Stack;
}

/** Everything on a queue, read and deleted. */
export async function drain(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let empty = 0; empty < 2; ) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) {
      empty++;
      continue;
    }
    bodies.push(...msgs.map((m) => m.Body ?? ''));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  return bodies;
}

export const drainResults = async (s: Stack): Promise<ResultRecord[]> =>
  (await drain(s.sqs, s.env.RESULTS_QUEUE_URL!)).map((b) => JSON.parse(b) as ResultRecord);

export async function depth(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const r = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(r.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** An SQS event as the event source mapping would build it, for invoking a handler directly. */
export function sqsEvent(bodies: (string | object)[], groups?: string[]): SQSEvent {
  return {
    Records: bodies.map((b, i) => ({
      messageId: `m-${i}-${Math.random().toString(36).slice(2, 8)}`,
      receiptHandle: `rh-${i}`,
      body: typeof b === 'string' ? b : JSON.stringify(b),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        ...(groups
          ? { MessageGroupId: groups[i]!, MessageDeduplicationId: `d${i}`, SequenceNumber: String(i) }
          : {}),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:requests',
      awsRegion: 'us-east-1',
    })),
  };
}

export const context = (timeoutMs = 30_000): Context =>
  lambdaContext('transitions', Date.now() + timeoutMs, timeoutMs);

/** Poll `check` until it returns a value (bounded: `tries` × `everyMs`). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  tries = 100,
  everyMs = 100,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error('condition not reached');
}
