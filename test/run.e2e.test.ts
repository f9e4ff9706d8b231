/**
 * `jobctl run` as a user runs it: a child process on a fresh environment (no queue, no provider
 * configured), its printed KEY=value lines exported into a client, transitions sent with
 * @aws-sdk/client-sqs, outcomes read back, then Ctrl-C.
 */

import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../lib/core/outcome';
import { createSqsClient } from '../lib/lambda/sqs';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import { ISOLATED_RUN, type RunChild, startJobctlRun } from './support/run-child';

let child: ChildProcess;
/** Tests run side by side: no fixed ports, nothing kept in the checkout's .jobctl/. */
let printed: Record<string, string>;
let run: RunChild | undefined;
const stderr = () => run?.stderr() ?? '';

/** Start `jobctl run` and resolve with its KEY=value lines once it prints JOBCTL_READY=1. */
async function startRun(args: string[]): Promise<Record<string, string>> {
  run = await startJobctlRun(args);
  child = run.child;
  return run.printed;
}

beforeAll(async () => {
  printed = await startRun(['--no-schedules', '--batching-window-ms', '100', ...ISOLATED_RUN]);
}, 60_000);

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});

describe('jobctl run', () => {
  it('prints what another terminal needs to export', () => {
    for (const k of [
      'REQUESTS_QUEUE_URL',
      'RESULTS_QUEUE_URL',
      'AWS_ENDPOINT_URL_SQS',
      'AWS_REGION',
      'COS_ENDPOINT',
      'OSS_ENDPOINT',
      'AWS_ENDPOINT_URL_S3_CONTROL',
      'TENCENTCLOUD_SECRETID',
      'ALIBABA_CLOUD_ACCESS_KEY_ID',
    ])
      expect(printed[k], k).toBeTruthy();
    expect(printed.AWS_ENDPOINT_URL_SQS).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('consumes transitions sent with the AWS SDK and publishes their outcomes', async () => {
    const sqs = createSqsClient(printed);
    const cos = EXAMPLE_TARGETS.cos;
    // The contract's example job is seeded Suspended in the sandbox.
    const messages = [
      {
        ...cos,
        id: 'e2e/ready',
        jobId: '53dc6228-c50b-46f7-8ad7-65e7159f1aae',
        action: 'UpdateJobStatus',
        requestedJobStatus: 'Ready',
      },
      {
        ...cos,
        id: 'e2e/again',
        jobId: '53dc6228-c50b-46f7-8ad7-65e7159f1aae',
        action: 'UpdateJobStatus',
        requestedJobStatus: 'Ready',
      },
      {
        ...cos,
        id: 'e2e/missing',
        jobId: 'no-such-job',
        action: 'UpdateJobStatus',
        requestedJobStatus: 'Ready',
      },
      { id: 'e2e/invalid', provider: 'cos', region: 'ap guangzhou' },
    ];
    // Sent one batch at a time, in order, so the repeat meets the applied job.
    for (const m of messages)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: printed.REQUESTS_QUEUE_URL,
          Entries: [{ Id: '0', MessageBody: JSON.stringify(m) }],
        }),
      );
    const outcomes = new Map<string, Outcome>();
    for (let i = 0; i < 60 && outcomes.size < messages.length; i++) {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: printed.RESULTS_QUEUE_URL,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      for (const m of r.Messages ?? []) {
        const o = JSON.parse(m.Body!) as Outcome;
        outcomes.set(o.id, o);
      }
      if (r.Messages?.length)
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: printed.RESULTS_QUEUE_URL,
            Entries: r.Messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
    }
    expect(outcomes.get('e2e/ready')?.outcome).toBe('applied');
    expect(['unchanged', 'applied']).toContain(outcomes.get('e2e/again')?.outcome);
    expect(outcomes.get('e2e/missing')).toMatchObject({ outcome: 'rejected', error: { code: 'NoSuchJob' } });
    expect(outcomes.get('e2e/invalid')).toMatchObject({ outcome: 'invalid', error: { field: 'region' } });
  }, 90_000);

  it('stops cleanly on SIGINT', async () => {
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(stderr()).toMatch(/stopped/);
  }, 30_000);
});
