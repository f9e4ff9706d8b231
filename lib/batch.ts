/**
 * One SQS batch of transition messages → `{ batchItemFailures }`. Powertools' BatchProcessor
 * turns each record's success or throw into the partial batch response; this module decides
 * what a record's success means: its outcome is on the results queue (or, for a `select`
 * message, its fan-out is on the requests queue). Around that:
 *
 * - at most `concurrency` provider conversations at once (the providers' rate limits);
 * - records for the same job run in arrival order; on a FIFO queue, records of a message group
 *   run in order and, after one fails, the rest of that group fails unprocessed;
 * - nothing starts that cannot finish before the function's timeout: such records fail
 *   unprocessed (SQS redelivers them) rather than being cut off mid-call.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Controller } from './controller';
import type { Outcome } from './outcome';
import { ProviderError } from './providers/errors';
import type { FanoutReport, Publisher } from './queues/publisher';
import { type QueueMessage, type SendReport, sqsJson } from './queues/sqs';
import { RetriesExhausted } from './retry';
import type { SelectTransition, Transition } from './transition';

export interface BatchDeps {
  controller: Controller;
  publisher: Publisher;
  /** Puts fanned-out transitions on the requests queue, giving up by `deadline` (epoch ms). */
  enqueue: (messages: QueueMessage[], deadline?: number) => Promise<SendReport>;
  concurrency: number;
  /** Kept back from the remaining time to publish outcomes and answer. */
  reserveMs: number;
  now?: () => number;
  onOutcome?: (o: Outcome) => void;
  onFanout?: (r: FanoutReport) => void;
}

export interface RemainingTime {
  getRemainingTimeInMillis(): number;
}

/** Why a record failed without being processed: logged, never published as an outcome. */
export class NotProcessed extends Error {
  override readonly name = 'NotProcessed';
}

export async function processTransitionBatch(
  event: SQSEvent,
  context: RemainingTime,
  deps: BatchDeps,
): Promise<SQSBatchResponse> {
  const now = deps.now ?? Date.now;
  const { deadline, hardDeadline } = deadlinesOf(context, deps.reserveMs, now);
  const slots = semaphore(deps.concurrency);

  // Who each record waits for: the previous record with the same key, decided up front in
  // arrival order so that the order holds whatever order the processor starts handlers in.
  const fifo = event.Records.some((r) => r.attributes.MessageGroupId !== undefined);
  const turns = new Map<string, { after: Promise<void>; release: () => void; group: { failed: boolean } }>();
  const last = new Map<string, Promise<void>>();
  const groups = new Map<string, { failed: boolean }>();
  for (const r of event.Records) {
    const key = fifo ? `group:${r.attributes.MessageGroupId}` : jobKey(r);
    const group = groups.get(key) ?? { failed: false };
    groups.set(key, group);
    const prev = last.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((res) => {
      release = res;
    });
    turns.set(r.messageId, { after: prev, release, group });
    last.set(key, done);
  }

  const handleRecord = async (record: SQSRecord) => {
    const turn = turns.get(record.messageId)!;
    try {
      await turn.after;
      if (fifo && turn.group.failed) throw new NotProcessed('an earlier message of its group failed');
      await slots.acquire();
      try {
        if (now() >= deadline) throw new NotProcessed('no time left before the function times out');
        await handleOne(record, deadline, hardDeadline, deps);
      } finally {
        slots.release();
      }
    } catch (e) {
      turn.group.failed = true;
      throw e;
    } finally {
      turn.release();
    }
  };

  return processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), {
    processInParallel: true,
    // Every record failing is still a partial response listing them all, not a thrown batch.
    throwOnFullBatchFailure: false,
  });
}

/** Kept back from the very end of the invocation, to answer at all. */
const HARD_MARGIN_MS = 250;

/**
 * An invocation's two deadlines (epoch ms): provider work stops at `deadline`, `reserveMs` before
 * the timeout; publishing may use that reserve up to `hardDeadline`.
 */
export function deadlinesOf(context: RemainingTime, reserveMs: number, now: () => number) {
  const end = now() + context.getRemainingTimeInMillis();
  return { deadline: end - reserveMs, hardDeadline: end - HARD_MARGIN_MS };
}

async function handleOne(
  record: SQSRecord,
  deadline: number,
  hardDeadline: number,
  deps: BatchDeps,
): Promise<void> {
  const trigger = { type: 'sqs' as const, messageId: record.messageId };
  const result = await deps.controller.handleBody(record.body, trigger, { id: record.messageId, deadline });
  if ('select' in result) {
    const report = await fanOut(
      result.select,
      record.messageId,
      `sqs:${record.messageId}`,
      { deadline, hardDeadline },
      deps,
    );
    if (report.failed > 0 || report.error?.retryable)
      throw new Error(`fan-out incomplete: ${report.error?.message ?? `${report.failed} not enqueued`}`);
    return;
  }
  deps.onOutcome?.(result);
  await deps.publisher.publish(result, hardDeadline);
  if (result.outcome === 'failed') throw new Error(`transition failed: ${result.error?.code ?? 'unknown'}`);
}

/** Messages handed to `enqueue` at a time by a fan-out: ten SendMessageBatch calls in parallel. */
const ENQUEUE_SLICE = 100;

/**
 * Expand a selector into one message per job on the requests queue, and publish the fan-out's
 * own report. The schedule function uses this too, so both fan out identically.
 */
export async function fanOut(
  t: SelectTransition,
  fallbackId: string,
  source: string,
  limits: { deadline?: number | undefined; hardDeadline?: number | undefined },
  deps: Pick<BatchDeps, 'controller' | 'publisher' | 'enqueue' | 'now' | 'onFanout'>,
): Promise<FanoutReport> {
  const now = deps.now ?? Date.now;
  const startedAt = new Date(now()).toISOString();
  const report: FanoutReport = {
    type: 'fanout',
    id: t.id ?? fallbackId,
    source,
    provider: t.provider,
    region: t.region,
    account: t.account ?? null,
    action: t.action,
    matched: 0,
    enqueued: 0,
    failed: 0,
    truncated: false,
    startedAt,
    finishedAt: startedAt,
    error: null,
  };
  try {
    const x = await deps.controller.expand(t, { id: report.id, deadline: limits.deadline });
    report.matched = x.matched;
    report.truncated = x.truncated;
    // In slices: thousands of matches must not become thousands of SendMessageBatch requests
    // built and in flight at once (their bodies and SDK state would all be alive together).
    for (let i = 0; i < x.transitions.length; i += ENQUEUE_SLICE) {
      const sent = await deps.enqueue(
        x.transitions.slice(i, i + ENQUEUE_SLICE).map(toRequestMessage),
        limits.hardDeadline,
      );
      report.enqueued += sent.sent.length;
      report.failed += sent.failed.length;
    }
  } catch (e) {
    const src = e instanceof RetriesExhausted ? e.last : e;
    const refusedForGood = src instanceof ProviderError && !src.retryable && src.kind !== 'config';
    report.error = {
      code: src instanceof ProviderError ? src.code : 'InternalError',
      message: String((src as Error)?.message ?? src).slice(0, 500),
      retryable: !refusedForGood,
    };
  }
  report.finishedAt = new Date(now()).toISOString();
  deps.onFanout?.(report);
  await deps.publisher.publish(report, limits.hardDeadline);
  return report;
}

/**
 * A transition as a requests-queue message. FIFO: the transitions of one job share a message
 * group (they apply in order); a select groups by its target.
 */
export function toRequestMessage(t: Transition): QueueMessage {
  const scope = 'jobId' in t ? t.jobId : 'select';
  return {
    body: sqsJson(t),
    groupId: `${t.provider}:${t.account ?? ''}:${t.region}:${scope}`.slice(0, 128),
    dedupId: t.id?.replace(/[^A-Za-z0-9!-/:-@[-`{-~]/g, '_').slice(0, 128),
  };
}

/** The ordering key of a standard-queue record: its job, or the record itself if it names none. */
function jobKey(r: SQSRecord): string {
  try {
    const m = JSON.parse(r.body) as Record<string, unknown>;
    if (typeof m.jobId === 'string')
      return `job:${m.provider}:${m.account ?? ''}:${m.appId ?? ''}:${m.region}:${m.jobId}`;
  } catch {
    // invalid bodies are handled (as `invalid`) by the controller; they order with nothing
  }
  return `msg:${r.messageId}`;
}

function semaphore(n: number) {
  let free = Math.max(1, n);
  const waiting: (() => void)[] = [];
  return {
    acquire(): Promise<void> {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise<void>((r) => waiting.push(r));
    },
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}
