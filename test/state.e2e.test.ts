/**
 * Issue 15's three scenarios through `jobctl run` as a user runs it (a child process, its printed
 * lines exported into an SQS client), with a visibility timeout shorter than the provider's
 * latency so that every message comes back while its first delivery is still being handled:
 *
 * 1. one Ready with notAfter now+3 s never gets both `expired` and `applied`;
 * 2. Ready, then Cancelled on the same job: the redelivered Ready is `unchanged` or a republished
 *    `applied`, never `rejected`;
 * 3. priority 5, then 7 a second later: the job ends at 7; the 5 is `superseded` or applied
 *    before the 7, never after.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../lib/core/outcome';
import { createSqsClient } from '../lib/lambda/sqs';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import { providersFromEnv } from '../lib/providers/index';
import { ISOLATED_RUN, type RunChild, startJobctlRun } from './support/run-child';

const COS = EXAMPLE_TARGETS.cos;
const JOBS = {
  expiring: '0e1f2a3b-0000-4000-8000-00000000e001',
  readyThenCancel: '0e1f2a3b-0000-4000-8000-00000000e002',
  priority: '0e1f2a3b-0000-4000-8000-00000000e003',
};
const LATENCY_MS = 3_000;

let child: ChildProcess;
let dir: string;
let printed: Record<string, string> = {};
let run: RunChild | undefined;
const stderr = () => run?.stderr() ?? '';

async function startRun(args: string[]): Promise<Record<string, string>> {
  run = await startJobctlRun(args);
  child = run.child;
  return run.printed;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jobctl-state-e2e-'));
  const seed = join(dir, 'seed.json');
  writeFileSync(
    seed,
    JSON.stringify({
      jobs: Object.values(JOBS).map((jobId) => ({
        ...COS,
        jobId,
        status: 'Suspended',
        description: 'state-e2e',
        priority: 10,
        ageMinutes: 5,
        totalTasks: 100,
        operation: 'COSPutObjectCopy',
      })),
    }),
  );
  printed = await startRun([
    ...ISOLATED_RUN,
    '--no-schedules',
    '--seed',
    seed,
    '--batching-window-ms',
    '100',
    '--visibility-timeout-s',
    '2',
    '--max-receive-count',
    '100',
    '--sandbox-latency-ms',
    String(LATENCY_MS),
  ]);
}, 60_000);

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('jobctl run with redeliveries during handling (issue 15)', () => {
  it('prints the local table', () => {
    expect(printed.AWS_ENDPOINT_URL_DYNAMODB).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(printed.JOBCTL_TABLE).toBeTruthy();
  });

  it('keeps every outcome consistent: no expired+applied, no rejected Ready, the newest priority wins', async () => {
    const sqs = createSqsClient(printed);
    const send = (m: object) =>
      sqs.send(
        new SendMessageCommand({ QueueUrl: printed.REQUESTS_QUEUE_URL, MessageBody: JSON.stringify(m) }),
      );
    const status = (id: string, jobId: string, s: string, extra: object = {}) => ({
      ...COS,
      id,
      jobId,
      action: 'UpdateJobStatus',
      requestedJobStatus: s,
      ...extra,
    });
    const priority = (id: string, p: number) => ({
      ...COS,
      id,
      jobId: JOBS.priority,
      action: 'UpdateJobPriority',
      priority: p,
    });
    await send(
      status('s1-ready', JOBS.expiring, 'Ready', { notAfter: new Date(Date.now() + 3_000).toISOString() }),
    );
    await send(status('s2-ready', JOBS.readyThenCancel, 'Ready'));
    await send(priority('s3-p5', 5));
    await new Promise((r) => setTimeout(r, 500));
    await send(status('s2-cancel', JOBS.readyThenCancel, 'Cancelled'));
    await new Promise((r) => setTimeout(r, 500));
    await send(priority('s3-p7', 7));

    // Read outcomes until every id has one and redeliveries have had time to come back
    // (bounded: 90 polls of at most 1 s).
    const byId = new Map<string, Outcome[]>();
    const ids = ['s1-ready', 's2-ready', 's2-cancel', 's3-p5', 's3-p7'];
    let settledPolls = 0;
    for (let i = 0; i < 90 && settledPolls < 8; i++) {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: printed.RESULTS_QUEUE_URL,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      const msgs = r.Messages ?? [];
      for (const m of msgs) {
        const o = JSON.parse(m.Body!) as Outcome;
        if (!('outcome' in o)) continue;
        byId.set(o.id, [...(byId.get(o.id) ?? []), o]);
      }
      if (msgs.length)
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: printed.RESULTS_QUEUE_URL,
            Entries: msgs.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      const done = ids.every((id) => byId.get(id)?.some((o) => o.outcome !== 'failed'));
      settledPolls = done && msgs.length === 0 ? settledPolls + 1 : 0;
    }
    const kinds = (id: string) => (byId.get(id) ?? []).map((o) => o.outcome);
    // The setting is real: messages came back after their first delivery finished (republished).
    expect(
      ids.some((id) => kinds(id).length > 1),
      JSON.stringify(Object.fromEntries(ids.map((id) => [id, kinds(id)]))),
    ).toBe(true);
    for (const id of ids) expect(kinds(id).length, `${id} has an outcome (${stderr()})`).toBeGreaterThan(0);

    // 1. Never both expired and applied; every copy of the outcome says the same.
    const s1 = new Set(kinds('s1-ready'));
    expect(s1.has('expired') && s1.has('applied'), `s1: ${[...s1]}`).toBe(false);
    expect(s1.size, `s1: ${[...s1]}`).toBe(1);

    // 2. The Ready is applied (or unchanged), however often it comes back; never rejected.
    expect(
      kinds('s2-ready').every((k) => k === 'applied' || k === 'unchanged'),
      `${kinds('s2-ready')}`,
    ).toBe(true);
    expect(
      kinds('s2-cancel').every((k) => k === 'applied'),
      `${kinds('s2-cancel')}`,
    ).toBe(true);

    // 3. 7 applied; 5 superseded or applied before 7 was; the job at 7.
    expect(
      kinds('s3-p7').every((k) => k === 'applied'),
      `${kinds('s3-p7')}`,
    ).toBe(true);
    const p7At = Math.min(...byId.get('s3-p7')!.map((o) => Date.parse(o.startedAt)));
    for (const o of byId.get('s3-p5')!) {
      expect(['superseded', 'applied']).toContain(o.outcome);
      if (o.outcome === 'applied') expect(Date.parse(o.finishedAt)).toBeLessThanOrEqual(p7At);
    }
    const cos = await providersFromEnv(printed, 30_000).get('cos');
    const job = await cos.describe(COS, JOBS.priority, { timeoutMs: 30_000 });
    expect(job.priority).toBe(7);
    const cancelled = await cos.describe(COS, JOBS.readyThenCancel, { timeoutMs: 30_000 });
    expect(['Cancelling', 'Cancelled']).toContain(cancelled.status);
  }, 150_000);
});
