/**
 * Lambda: an EventBridge Scheduler schedule fired. Its input (declared in serverless.yml) holds
 * transitions; each job they name or select is put on the requests queue as its own message.
 */
import type { Context } from 'aws-lambda';
import { getRuntime } from '../lib/lambda/runtime';
import { fireSchedule, type ScheduleEvent, type ScheduleResult } from '../lib/lambda/schedule';

export const handler = async (event: ScheduleEvent, context: Context): Promise<ScheduleResult> => {
  const runtime = getRuntime();
  try {
    const result = await fireSchedule(event, context, runtime);
    runtime.observer.logger.info('schedule fired', { ...result, fanouts: result.fanouts.length });
    // Anything not enqueued makes the invocation fail, so EventBridge Scheduler retries it;
    // repeats are harmless (a second Ready is `unchanged`).
    if (result.failed > 0)
      throw new Error(`${result.failed} transitions of ${event.schedule} were not enqueued`);
    return result;
  } finally {
    runtime.observer.flush();
  }
};
