/**
 * A schedule firing: its input's transitions, each fixed job and each job a selector matches,
 * become their own messages on the requests queue, so that thousands of jobs are processed,
 * retried and reported one by one by the transitions function rather than inside this call.
 */

import { derivedId, invalidOutcome } from '../core/controller';
import type { Outcome } from '../core/outcome';
import {
  checkScheduleInput,
  normalFireTime,
  SCHEDULE_NAME_RULE,
  type ScheduleInput,
} from '../core/schedule-input';
import { type JobTransition, parseTransition } from '../core/transition';
import {
  type BatchDeps,
  deadlinesOf,
  fanOut,
  type RemainingTime,
  toRequestMessage,
  withRequestedAt,
} from './batch';
import type { FanoutReport } from './publisher';

/** The input a schedule declares in serverless.yml (see lib/core/schedule-input.ts). */
export type ScheduleEvent = ScheduleInput;

export interface ScheduleResult {
  schedule: string;
  fireTime: string;
  invalid: number;
  enqueued: number;
  failed: number;
  fanouts: FanoutReport[];
}

export async function fireSchedule(
  event: ScheduleEvent,
  context: RemainingTime,
  deps: Pick<
    BatchDeps,
    'controller' | 'publisher' | 'enqueue' | 'now' | 'onOutcome' | 'onFanout' | 'reserveMs'
  >,
): Promise<ScheduleResult> {
  const now = deps.now ?? Date.now;
  const problem = checkScheduleInput(event, false);
  if (problem)
    throw new Error(
      problem.field === 'transitions'
        ? 'transitions: the input must hold a non-empty array of transitions'
        : `schedule: the input must name its schedule (${SCHEDULE_NAME_RULE})`,
    );
  const fireTime = normalFireTime(event.fireTime, now());
  const base = `${event.schedule}/${fireTime}`;
  const { deadline, hardDeadline } = deadlinesOf(context, deps.reserveMs, now);
  const trigger = { type: 'schedule' as const, schedule: event.schedule, fireTime };
  const result: ScheduleResult = {
    schedule: event.schedule,
    fireTime,
    invalid: 0,
    enqueued: 0,
    failed: 0,
    fanouts: [],
  };

  const fixed: JobTransition[] = [];
  for (const [i, raw] of event.transitions.entries()) {
    const parsed = parseTransition(raw);
    if (!parsed.ok) {
      // A broken schedule input is reported like any invalid message, and never sent.
      const o: Outcome = invalidOutcome(
        JSON.stringify(raw) ?? 'null',
        parsed.error,
        trigger,
        `${base}/${i}`,
        new Date(now()).toISOString(),
      );
      deps.onOutcome?.(o);
      await deps.publisher.publish(o, hardDeadline);
      result.invalid++;
    } else if ('select' in parsed.value) {
      const r = await fanOut(
        withRequestedAt(parsed.value, fireTime),
        parsed.value.id ?? base,
        `schedule:${event.schedule}`,
        { deadline, hardDeadline },
        deps,
      );
      result.fanouts.push(r);
      result.enqueued += r.enqueued;
      // A refusal for good (TargetNotAllowed, Expired) is reported, not retried by the scheduler.
      result.failed += r.failed + (r.error?.retryable ? 1 : 0);
    } else {
      // Requested at the fire time: a retried firing's copies are the same request, not newer ones.
      fixed.push(
        withRequestedAt(
          { ...parsed.value, id: derivedId(parsed.value.id ?? base, parsed.value.jobId) },
          fireTime,
        ),
      );
    }
  }
  if (fixed.length > 0) {
    const sent = await deps.enqueue(fixed.map(toRequestMessage), hardDeadline);
    result.enqueued += sent.sent.length;
    result.failed += sent.failed.length;
  }
  return result;
}
