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
import { createHash } from 'node:crypto';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Controller } from '../core/controller';
import { classify, errorOf, type Outcome } from '../core/outcome';
import { createRunner, keyOfBody, type Turn } from '../core/runner';
import {
  type JobTransition,
  parseTransitionBody,
  type SelectTransition,
  type Transition,
} from '../core/transition';
import { applyGuarded, TryLater } from './guarded';
import type { Ledger } from './ledger';
import type { Observer } from './observe';
import type { FanoutReport, Publisher } from './publisher';
import { type QueueMessage, type SendReport, sqsJson } from './sqs';
import type { StateStore } from './state';

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
  /**
   * The shared transition state: every job transition goes through applyGuarded (idempotent per
   * id, ordered per job and attribute). Absent or null: applied unguarded (no table configured).
   */
  state?: StateStore | null | undefined;
  /** Each published outcome is recorded here (never blocking the record for long, never failing it). */
  ledger?: Pick<Ledger, 'recordOutcome'> | null | undefined;
  /** Its logger says when the ledger could not record an outcome. */
  observer?: Pick<Observer, 'logger'> | undefined;
  /**
   * Makes a record that must wait for another delivery visible again after `seconds`, instead of
   * after the queue's whole visibility timeout (minutes). Best effort: without it, or when it
   * fails, the record simply comes back later.
   */
  retryAfter?: ((record: SQSRecord, seconds: number) => Promise<void>) | undefined;
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
  const runner = createRunner(deps.concurrency);

  // Turns are taken up front in arrival order, so that the order holds whatever order the
  // processor starts handlers in. FIFO: a message group is the key; standard: the job.
  const fifo = event.Records.some((r) => r.attributes.MessageGroupId !== undefined);
  const turns = new Map<string, { turn: Turn; group: { failed: boolean } }>();
  const groups = new Map<string, { failed: boolean }>();
  for (const r of event.Records) {
    const key = fifo ? `group:${r.attributes.MessageGroupId}` : keyOfBody(r.body);
    const group = (key !== null && groups.get(key)) || { failed: false };
    if (key !== null) groups.set(key, group);
    turns.set(r.messageId, { turn: runner.turn(key), group });
  }

  const handleRecord = (record: SQSRecord) => {
    const { turn, group } = turns.get(record.messageId)!;
    return turn.run(async () => {
      try {
        if (fifo && group.failed) throw new NotProcessed('an earlier message of its group failed');
        if (now() >= deadline) throw new NotProcessed('no time left before the function times out');
        await handleOne(record, deadline, hardDeadline, deps);
      } catch (e) {
        // Marked before the turn settles, so the group's next record sees it.
        group.failed = true;
        throw e;
      }
    });
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
  const parsed = deps.state ? parseTransitionBody(record.body) : null;
  if (parsed?.ok && !('select' in parsed.value)) {
    const t = parsed.value;
    // TryLater (another delivery or transition of the job in flight) propagates: the record fails
    // unprocessed, nothing published, and comes back once the holder is done.
    const { outcome } = await applyGuarded(
      t,
      trigger,
      { id: record.messageId, deadline, hardDeadline, sentAt: sentAtOf(record) },
      {
        state: deps.state!,
        controller: deps.controller,
        publish: async (o, by) => {
          deps.onOutcome?.(o);
          await deps.publisher.publish(o, by);
        },
        ...(deps.now ? { now: deps.now } : {}),
      },
    ).catch(async (e: unknown) => {
      if (e instanceof TryLater && deps.retryAfter) {
        const now = (deps.now ?? Date.now)();
        const received = Number(record.attributes.ApproximateReceiveCount) || 1;
        await deps.retryAfter(record, retryDelaySeconds(e.until - now, received)).catch(() => {});
      }
      throw e;
    });
    await recordInLedger(outcome, t, hardDeadline, deps);
    if (outcome.outcome === 'failed')
      throw new Error(`transition failed: ${outcome.error?.code ?? 'unknown'}`);
    return;
  }
  // Invalid messages and selects: nothing to guard (an invalid body changes nothing; a select's
  // fan-out is idempotent by derived ids, each guarded when it arrives).
  const result = await deps.controller.handleBody(record.body, trigger, { id: record.messageId, deadline });
  if ('select' in result) {
    const report = await fanOut(
      withRequestedAt(result.select, sentAtOf(record) ?? (deps.now ?? Date.now)()),
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

/**
 * How long a record that must wait stays invisible: until the holder's claim or lease would end at
 * the latest (a holder usually finishes long before, and then frees it), and otherwise doubling
 * with each receive — 2, 4, 8, 16, 32 s — so that the waits a maxReceiveCount of 5 allows (62 s)
 * outlast a holder that runs for a whole function timeout, while a short hold costs seconds, not
 * the queue's visibility timeout.
 */
export function retryDelaySeconds(msUntilFree: number, receiveCount: number): number {
  const untilFree = Math.ceil(msUntilFree / 1000) + 1;
  const backoff = 2 ** Math.min(Math.max(1, receiveCount), 10);
  return Math.min(900, Math.max(1, Math.min(untilFree, backoff)));
}

/** SQS SentTimestamp (epoch ms), when the record carries a valid one. */
function sentAtOf(record: SQSRecord): number | undefined {
  const n = Number(record.attributes.SentTimestamp);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** A transition stamped with when it was requested, unless it says so itself. */
export function withRequestedAt<T extends Transition>(t: T, at: number | string): T {
  if (t.requestedAt !== undefined) return t;
  return { ...t, requestedAt: typeof at === 'string' ? at : new Date(at).toISOString() };
}

/** Longest a record waits for the ledger: its write is history, not the transition's outcome. */
const LEDGER_WAIT_MS = 1_000;

/** The published outcome into the ledger; never fails the record, and waits for it briefly at most. */
async function recordInLedger(outcome: Outcome, t: JobTransition, hardDeadline: number, deps: BatchDeps) {
  if (!deps.ledger) return;
  const asked = {
    appId: t.appId ?? null,
    ...(t.action === 'UpdateJobStatus'
      ? {
          requestedJobStatus: t.requestedJobStatus,
          ...(t.statusUpdateReason !== undefined ? { statusUpdateReason: t.statusUpdateReason } : {}),
        }
      : { priority: t.priority }),
  };
  const now = deps.now ?? Date.now;
  const wait = Math.max(0, Math.min(LEDGER_WAIT_MS, hardDeadline - now()));
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    deps.ledger.recordOutcome(outcome, asked),
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), wait);
    }),
  ]).finally(() => clearTimeout(timer));
  if (r === null) deps.observer?.logger.warn('ledger: outcome not recorded in time', { id: outcome.id });
  else if (!r.recorded && r.reason !== 'no-job')
    deps.observer?.logger.warn('ledger: outcome not recorded', { id: outcome.id, reason: r.reason });
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
    // Page by page: each page's matches are on the queue before the next page is listed, so a
    // 100,000-job select never holds its transitions (or their messages) all at once.
    const x = await deps.controller.expand(t, { id: report.id, deadline: limits.deadline }, async (page) => {
      for (let i = 0; i < page.length; i += ENQUEUE_SLICE) {
        const sent = await deps.enqueue(
          page.slice(i, i + ENQUEUE_SLICE).map(toRequestMessage),
          limits.hardDeadline,
        );
        report.enqueued += sent.sent.length;
        report.failed += sent.failed.length;
      }
    });
    report.matched = x.matched;
    report.truncated = x.truncated;
  } catch (e) {
    // Pages already enqueued stay counted: their messages are on the queue.
    report.matched = Math.max(report.matched, report.enqueued + report.failed);
    const error = errorOf(e);
    report.error = {
      code: error.code,
      message: error.message.slice(0, 500),
      retryable: classify(e) !== 'refused',
    };
  }
  report.finishedAt = new Date(now()).toISOString();
  deps.onFanout?.(report);
  await deps.publisher.publish(report, limits.hardDeadline);
  return report;
}

/**
 * A FIFO deduplication id for a transition id. SQS allows only 1–128 printable ASCII characters,
 * so the id cannot be used as it is; a hash keeps distinct ids distinct (`作业-1`/`任务-1`,
 * `a b`/`a_b`), where replacing characters made them collide and SQS silently dropped the second.
 * Without an id, sendAll hashes the body.
 */
export const dedupIdOf = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

/**
 * A transition as a requests-queue message. FIFO: the transitions of one job share a message
 * group (they apply in order); a select groups by its target.
 */
export function toRequestMessage(t: Transition): QueueMessage {
  const scope = 'jobId' in t ? t.jobId : 'select';
  return {
    body: sqsJson(t),
    groupId: `${t.provider}:${t.account ?? ''}:${t.region}:${scope}`.slice(0, 128),
    dedupId: t.id === undefined ? undefined : dedupIdOf(t.id),
  };
}
