/**
 * Publishes to the results queue. Records of one batch finish at nearly the same moment; their
 * outcomes are gathered for a moment and sent together in SendMessageBatch calls, while each
 * caller still learns whether *its* outcome made it (the record may only succeed if it did).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Outcome } from '../core/outcome';
import type { SettledMessage } from './ledger';
import type { ReconcileReport } from './reconcile';
import { type QueueMessage, sendAll, sqsJson } from './sqs';

/** A fan-out's own report (a schedule firing, a `select` message): not an outcome of a transition. */
export interface FanoutReport {
  type: 'fanout';
  id: string;
  source: string;
  provider: string;
  region: string;
  account: string | null;
  action: string;
  matched: number;
  enqueued: number;
  failed: number;
  /** The selector's `max` cut the match list short. */
  truncated: boolean;
  startedAt: string;
  finishedAt: string;
  /**
   * Why the selector could not be expanded. `retryable`: transient trouble or missing
   * configuration, worth another delivery; otherwise a refusal for good (TargetNotAllowed,
   * Expired, AccessDenied) that no repeat can change.
   */
  error: { code: string; message: string; retryable: boolean } | null;
}

export type ResultRecord = Outcome | FanoutReport;

export const isFanout = (r: ResultRecord): r is FanoutReport => 'type' in r && r.type === 'fanout';

/** Everything published on the results queue; a tick's report is not a ResultRecord (it names no job). */
export type PublishedRecord = ResultRecord | ReconcileReport | SettledMessage;

export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Publisher {
  /**
   * Resolves once the record is on the results queue; rejects with PublishError otherwise,
   * at the latest by `deadline` (epoch ms).
   */
  publish(r: PublishedRecord, deadline?: number): Promise<void>;
}

export function toResultMessage(r: PublishedRecord): QueueMessage {
  if ('type' in r && r.type === 'reconcile')
    return { body: sqsJson(r), attributes: { type: 'reconcile' }, groupId: r.id };
  if ('type' in r && r.type === 'settled')
    return {
      body: sqsJson(r),
      attributes: { type: 'settled', verdict: r.verdict, provider: r.provider },
      groupId: r.id.slice(0, 128),
    };
  const attributes: Record<string, string> = isFanout(r)
    ? { type: 'fanout', provider: r.provider }
    : { type: 'outcome', outcome: r.outcome, ...(r.provider ? { provider: r.provider } : {}) };
  return { body: sqsJson(r), attributes, groupId: r.id.slice(0, 128) };
}

export function createPublisher(
  sqs: SQSClient,
  queueUrl: string,
  opts: { lingerMs?: number; attempts?: number } = {},
): Publisher {
  const linger = opts.lingerMs ?? 2;
  let buffer: { msg: QueueMessage; deadline: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = async () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = buffer;
    buffer = [];
    if (batch.length === 0) return;
    const report = await sendAll(
      sqs,
      queueUrl,
      batch.map((b) => b.msg),
      { attempts: opts.attempts, deadline: Math.min(...batch.map((b) => b.deadline)) },
    );
    for (const i of report.sent) batch[i]!.resolve();
    for (const f of report.failed)
      batch[f.index]!.reject(new PublishError(f.code, `results queue: ${f.message}`));
  };

  return {
    publish(r, deadline = Number.POSITIVE_INFINITY) {
      return new Promise<void>((resolve, reject) => {
        buffer.push({ msg: toResultMessage(r), deadline, resolve, reject });
        if (buffer.length >= 10) void flush();
        else timer ??= setTimeout(() => void flush(), linger);
      });
    },
  };
}
