/**
 * Lambda: the requests queue's event source. Each record is one transition message; the answer
 * lists the records SQS must deliver again (partial batch response).
 *
 * Path of one message: this file → lib/lambda/batch.ts (record → outcome → results queue)
 * → lib/core/controller.ts (checks, retries) → lib/providers/<name>/client.ts (the wire).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processTransitionBatch } from '../lib/lambda/batch';
import { getRuntime } from '../lib/lambda/runtime';

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const runtime = getRuntime();
  try {
    return await processTransitionBatch(event, context, runtime);
  } finally {
    runtime.observer.flush();
  }
};
