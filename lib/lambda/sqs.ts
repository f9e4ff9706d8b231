/**
 * The two queues, over the real SQS wire (@aws-sdk/client-sqs): outcomes out to the results
 * queue, fanned-out transitions back onto the requests queue. Both go in SendMessageBatch calls
 * of ten, and entries SQS refuses are retried, because an outcome that is not on the results
 * queue means its transition's message must stay on the requests queue.
 */
import { createHash } from 'node:crypto';
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { envCredentials } from '../providers/aws-env';

/**
 * An SQS client that works against a local emulator too: with `AWS_ENDPOINT_URL_SQS` set, send
 * to that endpoint rather than to the queue URL's own host (fauxqs names queues
 * `sqs.<region>.localhost`, which Node does not resolve).
 */
export function createSqsClient(
  env: NodeJS.ProcessEnv = process.env,
  extra: SQSClientConfig = {},
): SQSClient {
  const endpoint = env.AWS_ENDPOINT_URL_SQS;
  const credentials = envCredentials(env);
  return new SQSClient({
    region: env.AWS_REGION || 'us-east-1',
    ...(endpoint ? { endpoint, useQueueUrlAsEndpoint: false } : {}),
    ...(credentials ? { credentials } : {}),
    ...extra,
  });
}

/**
 * The client `sendAll` sends with: one HTTP attempt per call. sendAll retries what SQS refuses
 * (or a call that fails) itself, entry by entry; the SDK's own retries (3 attempts by default)
 * under it would multiply into attempts × 3 calls against a failing queue, past its deadline.
 */
export function createSendingClient(env: NodeJS.ProcessEnv = process.env, extra: SQSClientConfig = {}) {
  return createSqsClient(env, { ...extra, maxAttempts: 1 });
}

/**
 * JSON for an SQS message body. SQS accepts only #x9, #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD and
 * #x10000–#x10FFFF, and JSON.stringify leaves U+FFFE/U+FFFF (and, for emulators that refuse them,
 * astral characters) as they are; escaping every code unit outside the BMP's safe range as \uXXXX
 * keeps the same JSON value in a body any SQS accepts. Outside strings JSON is plain ASCII, so
 * only string contents are touched.
 */
export function sqsJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\t\n\r\x20-\ud7ff\ue000-\ufffd]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export interface QueueMessage {
  body: string;
  attributes?: Record<string, string>;
  /** FIFO queues: ordering scope and duplicate suppression. */
  groupId?: string;
  dedupId?: string;
}

export interface SendReport {
  /** Indices (into the input) that SQS accepted. */
  sent: number[];
  /** Indices that are not on the queue after every retry, with why. */
  failed: { index: number; code: string; message: string }[];
}

export const isFifo = (queueUrl: string) => queueUrl.endsWith('.fifo');

export interface SendOptions {
  /** Tries per entry (default 4). */
  attempts?: number | undefined;
  baseDelayMs?: number | undefined;
  /** Each SendMessageBatch call is abandoned after this long (default 5 s). */
  callTimeoutMs?: number | undefined;
  /** Absolute time (epoch ms) after which nothing more is tried; what is unsent is reported failed. */
  deadline?: number | undefined;
}

const BATCH = 10;
const MAX_BODY_BYTES = 256 * 1024;

/**
 * Send messages in batches of ten; entries SQS refuses with a retryable error (or the whole
 * call failing) are retried up to `attempts` times with a short backoff. Give it a client from
 * `createSendingClient`, so that these are the only retries. Never throws: what
 * could not be sent is reported, so the caller fails exactly those records.
 */
export async function sendAll(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly QueueMessage[],
  opts: SendOptions = {},
): Promise<SendReport> {
  const attempts = opts.attempts ?? 4;
  const callTimeoutMs = opts.callTimeoutMs ?? 5_000;
  const deadline = opts.deadline ?? Number.POSITIVE_INFINITY;
  const fifo = isFifo(queueUrl);
  const report: SendReport = { sent: [], failed: [] };
  let pending = messages
    .map((_, i) => i)
    .filter((i) => {
      if (Buffer.byteLength(messages[i]!.body) <= MAX_BODY_BYTES) return true;
      report.failed.push({ index: i, code: 'MessageTooLong', message: 'body over 256 KiB' });
      return false;
    });
  const lastError = new Map<number, { code: string; message: string }>();

  for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt++) {
    if (attempt > 1) await sleep((opts.baseDelayMs ?? 50) * 2 ** (attempt - 2) * (0.5 + Math.random() / 2));
    // A queue that accepts connections and never answers must not hold the caller past its deadline.
    const left = deadline - Date.now();
    if (left <= 0) break;
    const timeout = Math.min(callTimeoutMs, left);
    const chunks: number[][] = [];
    for (let i = 0; i < pending.length; i += BATCH) chunks.push(pending.slice(i, i + BATCH));
    const retry: number[] = [];
    await Promise.all(
      chunks.map(async (chunk) => {
        const entries: SendMessageBatchRequestEntry[] = chunk.map((index) =>
          toEntry(messages[index]!, index, fifo),
        );
        try {
          const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }), {
            abortSignal: AbortSignal.timeout(timeout),
          });
          for (const ok of out.Successful ?? []) report.sent.push(Number(ok.Id));
          for (const f of out.Failed ?? []) {
            const index = Number(f.Id);
            lastError.set(index, { code: f.Code ?? 'Failed', message: f.Message ?? '' });
            // SenderFault: the entry itself is wrong; resending cannot help.
            if (f.SenderFault) report.failed.push({ index, ...lastError.get(index)! });
            else retry.push(index);
          }
        } catch (e) {
          const err = e as { name?: string; message?: string };
          for (const index of chunk)
            lastError.set(index, { code: err.name ?? 'Error', message: err.message ?? '' });
          retry.push(...chunk);
        }
      }),
    );
    pending = retry;
  }
  for (const index of pending) report.failed.push({ index, ...lastError.get(index)! });
  report.sent.sort((a, b) => a - b);
  return report;
}

function toEntry(m: QueueMessage, index: number, fifo: boolean): SendMessageBatchRequestEntry {
  const entry: SendMessageBatchRequestEntry = { Id: String(index), MessageBody: m.body };
  if (m.attributes) {
    const attrs: Record<string, MessageAttributeValue> = {};
    for (const [k, v] of Object.entries(m.attributes)) attrs[k] = { DataType: 'String', StringValue: v };
    entry.MessageAttributes = attrs;
  }
  if (fifo) {
    entry.MessageGroupId = m.groupId ?? 'jobctl';
    entry.MessageDeduplicationId = m.dedupId ?? createHash('sha256').update(m.body).digest('hex');
  }
  return entry;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
