import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { Controller } from '../core/controller';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { processTransitionBatch, retryDelaySeconds } from './batch';
import type { StateStore } from './state';

const NOW = Date.parse('2026-12-06T12:00:00Z');

const record = (id: string, body: unknown): SQSRecord =>
  ({
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: JSON.stringify(body),
    attributes: { SentTimestamp: String(NOW - 1000), ApproximateReceiveCount: '1' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:requests',
    awsRegion: 'us-east-1',
  }) as unknown as SQSRecord;

describe('a transition that must wait for another delivery', () => {
  const cos = EXAMPLE_TARGETS.cos;
  const body = {
    provider: 'cos',
    region: cos.region,
    account: cos.account,
    appId: cos.appId,
    jobId: '53dc6228-c50b-46f7-8ad7-65e7159f1aae',
    action: 'UpdateJobStatus',
    requestedJobStatus: 'Ready',
  };

  it('fails back unprocessed and comes back when the holder is done, not after the visibility timeout', async () => {
    const sent: unknown[] = [];
    const waits: [string, number][] = [];
    // Another delivery holds the id for 5.2 s more.
    const state = { begin: async () => ({ kind: 'inProgress', until: NOW + 5200 }) } as unknown as StateStore;
    const controller = {
      apply: async () => {
        throw new Error('must not reach the provider');
      },
    } as unknown as Controller;
    const event = { Records: [record('m1', body)] } as SQSEvent;
    const r = await processTransitionBatch(
      event,
      { getRemainingTimeInMillis: () => 60_000 },
      {
        controller,
        publisher: { publish: async (o) => void sent.push(o) },
        enqueue: async () => ({ sent: [], failed: [] }),
        concurrency: 2,
        reserveMs: 1000,
        now: () => NOW,
        state,
        retryAfter: async (rec, seconds) => void waits.push([rec.receiptHandle, seconds]),
      },
    );
    expect(r.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(sent).toEqual([]);
    // First receive: 2 s, well before the holder's claim would run out.
    expect(waits).toEqual([['rh-m1', 2]]);
  });

  it('waits 2, 4, 8, 16, 32 s by receive, never past the holder claim, 1 s at least', () => {
    const hold = 60_000;
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(hold, n))).toEqual([2, 4, 8, 16, 32]);
    // The five waits a maxReceiveCount of 5 allows outlast a holder running a whole 60 s timeout.
    expect([1, 2, 3, 4, 5].reduce((t, n) => t + retryDelaySeconds(hold, n), 0)).toBeGreaterThan(60);
    expect(retryDelaySeconds(2500, 5)).toBe(4);
    expect(retryDelaySeconds(-5000, 3)).toBe(1);
    expect(retryDelaySeconds(10 * 3600_000, 30)).toBe(900);
  });
});
