/**
 * An SQS event source mapping, as Lambda runs one, for `jobctl run` and the integration tests:
 * long-poll the queue, gather up to `batchSize` messages within the batching window, invoke the
 * real handler with an SQSEvent and a context whose remaining time counts down to the function
 * timeout, then delete what succeeded. Failed records are left alone: they come back after the
 * visibility timeout, and the queue's redrive policy moves them to the DLQ after maxReceiveCount.
 * A handler that throws or overruns its timeout deletes nothing, as on Lambda.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface EventSourceMappingOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  batchSize?: number;
  /** Gather messages this long before invoking with fewer than batchSize (Lambda's MaximumBatchingWindowInSeconds). */
  batchingWindowMs?: number;
  /** The function's timeout; the context counts down from it. */
  functionTimeoutMs?: number;
  /** Concurrent invocations (Lambda's ScalingConfig.MaximumConcurrency). */
  maxConcurrency?: number;
  /** Long-poll wait per receive; short keeps shutdown quick. */
  waitTimeSeconds?: number;
  functionName?: string;
  region?: string;
  onInvoke?: (info: InvokeReport) => void;
  onError?: (e: unknown) => void;
}

export interface InvokeReport {
  records: number;
  failed: number;
  deleted: number;
  ms: number;
  /** The handler threw or ran past its timeout: nothing was deleted. */
  crashed: boolean;
}

export interface EventSourceMapping {
  /** Stop polling; resolves when in-flight invocations have finished and deleted what succeeded. */
  stop(): Promise<void>;
  readonly inFlight: number;
  readonly stats: { invocations: number; records: number; deleted: number; failed: number; crashed: number };
}

export function startEventSourceMapping(opts: EventSourceMappingOptions): EventSourceMapping {
  const batchSize = opts.batchSize ?? 10;
  const windowMs = opts.batchingWindowMs ?? 0;
  const timeoutMs = opts.functionTimeoutMs ?? 30_000;
  const wait = opts.waitTimeSeconds ?? 1;
  const arn = `arn:aws:sqs:${opts.region ?? 'us-east-1'}:000000000000:${opts.queueUrl.split('/').pop()}`;
  const controller = new AbortController();
  const stats = { invocations: 0, records: 0, deleted: 0, failed: 0, crashed: 0 };
  let inFlight = 0;

  async function receiveBatch(): Promise<Message[]> {
    const got: Message[] = [];
    const windowEnds = Date.now() + windowMs;
    do {
      const left = windowEnds - Date.now();
      const r = await opts.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: opts.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - got.length),
          WaitTimeSeconds: got.length > 0 ? Math.max(0, Math.min(wait, Math.floor(left / 1000))) : wait,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: controller.signal },
      );
      const msgs = r.Messages ?? [];
      got.push(...msgs);
      if (msgs.length === 0 && got.length > 0) break;
    } while (
      got.length > 0 &&
      got.length < batchSize &&
      Date.now() < windowEnds &&
      !controller.signal.aborted
    );
    return got;
  }

  async function invoke(messages: Message[]): Promise<void> {
    const started = Date.now();
    const event: SQSEvent = { Records: messages.map((m) => toRecord(m, arn, opts.region ?? 'us-east-1')) };
    const deadline = started + timeoutMs;
    let response: SQSBatchResponse | undefined;
    let crashed = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      response = await Promise.race([
        opts.handler(event, lambdaContext(opts.functionName ?? 'transitions', deadline, timeoutMs)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`handler ran past its ${timeoutMs} ms timeout`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (e) {
      crashed = true;
      opts.onError?.(e);
    } finally {
      clearTimeout(timer);
    }
    const failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    const toDelete = crashed ? [] : messages.filter((m) => !failedIds.has(m.MessageId ?? ''));
    let deleted = 0;
    for (let i = 0; i < toDelete.length; i += 10) {
      const chunk = toDelete.slice(i, i + 10);
      try {
        const out = await opts.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: opts.queueUrl,
            Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
        deleted += out.Successful?.length ?? 0;
      } catch (e) {
        // Not deleted: the message comes back and is handled again (at-least-once), never lost.
        opts.onError?.(e);
      }
    }
    const failed = crashed ? messages.length : failedIds.size;
    stats.invocations++;
    stats.records += messages.length;
    stats.deleted += deleted;
    stats.failed += failed;
    if (crashed) stats.crashed++;
    opts.onInvoke?.({ records: messages.length, failed, deleted, ms: Date.now() - started, crashed });
  }

  async function poller(): Promise<void> {
    while (!controller.signal.aborted) {
      let messages: Message[];
      try {
        messages = await receiveBatch();
      } catch (e) {
        if (controller.signal.aborted) return;
        opts.onError?.(e);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length === 0) continue;
      inFlight += messages.length;
      try {
        await invoke(messages);
      } finally {
        inFlight -= messages.length;
      }
    }
  }

  const pollers = Array.from({ length: Math.max(1, opts.maxConcurrency ?? 1) }, poller);
  return {
    async stop() {
      controller.abort();
      await Promise.allSettled(pollers);
    },
    get inFlight() {
      return inFlight;
    },
    stats,
  };
}

function toRecord(m: Message, arn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  const attributes: SQSRecord['attributes'] = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? '000000000000',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  if (a.MessageGroupId) attributes.MessageGroupId = a.MessageGroupId;
  if (a.MessageDeduplicationId) attributes.MessageDeduplicationId = a.MessageDeduplicationId;
  if (a.SequenceNumber) attributes.SequenceNumber = a.SequenceNumber;
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [k, v] of Object.entries(m.MessageAttributes ?? {}))
    messageAttributes[k] = {
      stringValue: v.StringValue,
      dataType: v.DataType ?? 'String',
      stringListValues: [],
      binaryListValues: [],
    };
  return {
    messageId: m.MessageId ?? randomUUID(),
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

/** A Lambda context whose clock runs out at `deadline`, as the real one does. */
export function lambdaContext(functionName: string, deadline: number, timeoutMs: number): Context {
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    ...{ timeoutMs },
  } as Context;
}
