/**
 * The deployed functions' handlers, built from their dependencies (middy's shape): functions/*.ts
 * build them on the runtime from the environment; tests, `jobctl run` (lib/local/stack.ts) and the
 * benchmarks build them on their own runtime. Nothing here reads a process-wide runtime.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processTransitionBatch } from './batch';
import { type RuntimeSource, resolveRuntime } from './runtime';
import { fireSchedule, type ScheduleEvent, type ScheduleResult } from './schedule';

export type TransitionsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
export type ScheduleHandler = (event: ScheduleEvent, context: Context) => Promise<ScheduleResult>;

/**
 * The requests queue's handler on `runtime` (or a function building it on first use).
 *
 * @example
 * const handle = createTransitionsHandler(createRuntime(env));
 * const { batchItemFailures } = await handle(event, context);
 */
export const createTransitionsHandler =
  (runtime: RuntimeSource): TransitionsHandler =>
  async (event, context) => {
    const rt = resolveRuntime(runtime);
    try {
      return await processTransitionBatch(event, context, rt);
    } finally {
      rt.observer.flush();
    }
  };

/** A schedule's handler on `runtime`: fans its transitions out onto the requests queue. */
export const createScheduleHandler =
  (runtime: RuntimeSource): ScheduleHandler =>
  async (event, context) => {
    const rt = resolveRuntime(runtime);
    try {
      const result = await fireSchedule(event, context, rt);
      rt.observer.logger.info('schedule fired', { ...result, fanouts: result.fanouts.length });
      // Anything not enqueued makes the invocation fail, so EventBridge Scheduler retries it;
      // repeats are harmless (a second Ready is `unchanged`).
      if (result.failed > 0)
        throw new Error(`${result.failed} transitions of ${event.schedule} were not enqueued`);
      return result;
    } finally {
      rt.observer.flush();
    }
  };
