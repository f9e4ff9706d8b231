/**
 * Lambda: the requests queue's event source. Each record is one transition message; the answer
 * lists the records SQS must deliver again (partial batch response).
 *
 * Path of one message: this file → lib/lambda/batch.ts (record → guarded outcome → results queue)
 * → lib/core/controller.ts (checks, retries) → lib/providers/<name>/client.ts (the wire).
 */
import { createTransitionsHandler } from '../lib/lambda/handlers';
import { runtimeFromEnv } from '../lib/lambda/runtime';

export { createTransitionsHandler };

/** Built from the environment on the first invocation; importing reads nothing. */
export const handler = createTransitionsHandler(runtimeFromEnv());
