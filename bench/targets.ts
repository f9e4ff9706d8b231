/** The sandbox's example targets (docs/reference.md), as the benchmarks address them, and fresh jobs under them. */

import type { Context, SQSEvent } from 'aws-lambda';
import { lambdaContext } from '../lib/local/event-source-mapping';
import { newJobId } from '../lib/local/sandbox/ids';
import type { JobStore } from '../lib/local/sandbox/server';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import type { ProviderName } from '../lib/providers/types';

export const TARGETS = {
  cos: EXAMPLE_TARGETS.cos,
  oss: EXAMPLE_TARGETS.oss,
  s3: EXAMPLE_TARGETS.s3,
} as const;

/** `n` new Suspended jobs in the provider's example namespace; their ids, in order. */
export function seedFresh(store: JobStore, provider: ProviderName, n: number): string[] {
  const t = TARGETS[provider];
  const ids = Array.from({ length: n }, () => newJobId(provider));
  store.seed(
    ids.map((jobId) => ({
      provider,
      jobId,
      status: 'Suspended' as const,
      description: 'bench-',
      region: t.region,
      ...('appId' in t ? { appId: t.appId } : {}),
      ...('account' in t ? { account: t.account } : {}),
    })),
    newJobId,
  );
  return ids;
}

let seq = 0;
/** An SQS event of Ready transitions for `jobIds` (transition ids `ids`, else the message ids), as the event source mapping delivers it. */
export function sqsEvent(jobIds: string[], ids?: string[]): SQSEvent {
  return {
    Records: jobIds.map((jobId, i) => {
      const messageId = `bench-${process.pid}-${++seq}`;
      return {
        messageId,
        receiptHandle: `rh-${messageId}`,
        body: JSON.stringify({
          ...TARGETS.cos,
          id: ids?.[i] ?? messageId,
          jobId,
          action: 'UpdateJobStatus',
          requestedJobStatus: 'Ready',
        }),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'bench',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:requests',
        awsRegion: 'us-east-1',
      };
    }),
  };
}

/** A transitions invocation's context with a 60 s timeout. */
export const context = (): Context => lambdaContext('transitions', Date.now() + 60_000, 60_000);
