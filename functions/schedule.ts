/**
 * Lambda: an EventBridge Scheduler schedule fired. Its input (declared in serverless.yml) holds
 * transitions; each job they name or select is put on the requests queue as its own message.
 */
import { createScheduleHandler } from '../lib/lambda/handlers';
import { runtimeFromEnv } from '../lib/lambda/runtime';

export { createScheduleHandler };

/** Built from the environment on the first invocation; importing reads nothing. */
export const handler = createScheduleHandler(runtimeFromEnv());
