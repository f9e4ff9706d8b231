/**
 * The deployed functions, for real: functions/transitions.ts and functions/schedule.ts against
 * fauxqs queues and the sandbox provider over 127.0.0.1, driven by the event source mapping.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Outcome } from '../lib/core/outcome';
import type { Transition } from '../lib/core/transition';
import { dedupIdOf, toRequestMessage } from '../lib/lambda/batch';
import type { ScheduleHandler, TransitionsHandler } from '../lib/lambda/handlers';
import { type FanoutReport, isFanout } from '../lib/lambda/publisher';
import { createSendingClient, sendAll } from '../lib/lambda/sqs';
import { startEventSourceMapping } from '../lib/local/event-source-mapping';
import { generateJobs } from '../lib/local/sandbox/seed';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import {
  context,
  depth,
  drain,
  drainResults,
  eventually,
  type Stack,
  sqsEvent,
  startStack,
} from './support/harness';

const COS = EXAMPLE_TARGETS.cos;
const seed = [
  { ...COS, jobId: 'aaaaaaaa-0000-4000-8000-000000000001', status: 'Suspended', description: 'nightly-a' },
  { ...COS, jobId: 'aaaaaaaa-0000-4000-8000-000000000002', status: 'Suspended', description: 'nightly-b' },
  { ...COS, jobId: 'aaaaaaaa-0000-4000-8000-000000000003', status: 'Complete', description: 'done' },
  {
    ...COS,
    jobId: 'aaaaaaaa-0000-4000-8000-000000000004',
    status: 'Active',
    description: 'bulk-a',
    priority: 10,
  },
] as const;
const ready = (jobId: string, id?: string) => ({
  ...COS,
  ...(id ? { id } : {}),
  jobId,
  action: 'UpdateJobStatus',
  requestedJobStatus: 'Ready',
});

let stack: Stack | undefined;
/** The real handler on the current test's stack (its runtime as last wired). */
const transitions: TransitionsHandler = (event, ctx) => stack!.handlers.transitions(event, ctx);
const scheduleHandler: ScheduleHandler = (event, ctx) => stack!.handlers.schedule(event, ctx);
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const outcomesById = (records: unknown[]) =>
  new Map((records as Outcome[]).filter((r) => !isFanout(r as never)).map((o) => [o.id, o]));

describe('functions/transitions.ts', () => {
  it('a mixed batch: each record its outcome on the results queue, only failures returned', async () => {
    stack = await startStack({ sandbox: { seed: [...seed] } });
    const event = sqsEvent([
      ready(seed[0].jobId, 'r-applied'),
      ready(seed[2].jobId, 'r-unchanged'), // Complete: a Ready is already reached
      { ...ready('aaaaaaaa-0000-4000-8000-00000000dead', 'r-rejected') },
      '{"provider": "cos", "priority": "high"}',
      { ...ready(seed[1].jobId, 'r-expired'), notAfter: '2020-01-01T00:00:00Z' },
      { ...COS, id: 'r-priority', jobId: seed[3].jobId, action: 'UpdateJobPriority', priority: 99 },
      { ...ready(seed[1].jobId, 'r-not-allowed'), account: '200000000002' },
    ]);
    stack.env.JOBCTL_ALLOWED_TARGETS = 'cos:100000000001';
    stack.rewire();

    const res = await transitions(event, context());
    expect(res.batchItemFailures).toEqual([]);
    const byId = outcomesById(await drainResults(stack));
    expect(Object.fromEntries([...byId].map(([id, o]) => [id, o.outcome]))).toEqual({
      'r-applied': 'applied',
      'r-unchanged': 'unchanged',
      'r-rejected': 'rejected',
      [event.Records[3]!.messageId]: 'invalid',
      'r-expired': 'expired',
      'r-priority': 'applied',
      'r-not-allowed': 'rejected',
    });
    expect(byId.get('r-rejected')?.error?.code).toBe('NoSuchJob');
    expect(byId.get('r-not-allowed')?.error?.code).toBe('TargetNotAllowed');
    expect(byId.get(event.Records[3]!.messageId)).toMatchObject({
      raw: '{"provider": "cos", "priority": "high"}',
      error: { field: 'region', message: 'region: is required' },
    });
    expect(stack.sandbox.store.get({ provider: 'cos', namespace: COS.appId }, seed[3].jobId)?.priority).toBe(
      99,
    );
    // Nothing was sent for the invalid, expired and not-allowed records.
    expect(stack.sandbox.stats().byOperation['cos:UpdateJobStatus']).toBe(3);
  });

  it('duplicates of one job run in order: applied, then unchanged', async () => {
    stack = await startStack({ sandbox: { seed: [...seed] } });
    const res = await transitions(
      sqsEvent([ready(seed[0].jobId, 'd-1'), ready(seed[0].jobId, 'd-2')]),
      context(),
    );
    expect(res.batchItemFailures).toEqual([]);
    const byId = outcomesById(await drainResults(stack));
    expect(byId.get('d-1')?.outcome).toBe('applied');
    expect(byId.get('d-2')?.outcome).toBe('unchanged');
  });

  it('FIFO: after a failure in a group, the rest of that group is not processed; other groups are', async () => {
    // OSS without credentials: its transitions fail (configuration), as transient trouble would.
    stack = await startStack({ sandbox: { seed: [...seed] }, env: { ALIBABA_CLOUD_ACCESS_KEY_ID: '' } });
    const oss = {
      provider: 'oss',
      region: EXAMPLE_TARGETS.oss.region,
      jobId: 'MzRjZGU2NGQ3YTY5NGRhMTkxZmZhYzY5OTM5YTcxYWU=',
    };
    const event = sqsEvent(
      [
        { ...oss, id: 'g1-fails', action: 'UpdateJobStatus', requestedJobStatus: 'Cancelled' },
        ready(seed[0].jobId, 'g1-skipped'),
        ready(seed[1].jobId, 'g2-applied'),
      ],
      ['g1', 'g1', 'g2'],
    );
    const res = await transitions(event, context());
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      event.Records[0]!.messageId,
      event.Records[1]!.messageId,
    ]);
    const byId = outcomesById(await drainResults(stack));
    expect(byId.get('g1-fails')).toMatchObject({ outcome: 'failed', error: { code: 'MissingCredentials' } });
    expect(byId.has('g1-skipped')).toBe(false);
    expect(byId.get('g2-applied')?.outcome).toBe('applied');
    expect(stack.sandbox.store.get({ provider: 'cos', namespace: COS.appId }, seed[0].jobId)?.status).toBe(
      'Suspended',
    );
  });

  it('results queue unavailable: every record fails, nothing is deleted', async () => {
    stack = await startStack({ sandbox: { seed: [...seed] } });
    stack.rewire({ env: { RESULTS_QUEUE_URL: `${stack.queues.resultsQueueUrl}-missing` } });
    for (const id of ['u-1', 'u-2'])
      await stack.sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.queues.requestsQueueUrl,
          MessageBody: JSON.stringify(ready(seed[0].jobId, id)),
        }),
      );
    const esm = startEventSourceMapping({
      sqs: stack.sqs,
      queueUrl: stack.queues.requestsQueueUrl,
      handler: transitions,
      batchingWindowMs: 200,
    });
    await eventually(async () => (esm.stats.records >= 2 ? true : undefined));
    await esm.stop();
    expect(esm.stats.deleted).toBe(0);
    expect(esm.stats.failed).toBe(2);
    expect(await depth(stack.sqs, stack.queues.requestsQueueUrl)).toEqual({ visible: 0, inFlight: 2 });
  });

  it('a provider that keeps failing: failed outcomes with attempts, then the DLQ after maxReceiveCount', async () => {
    stack = await startStack({
      sandbox: { seed: [...seed], faults: { seed: 7, serverErrorRate: 1 } },
      env: { JOBCTL_MAX_ATTEMPTS: '2', JOBCTL_RETRY_BUDGET_MS: '1000' },
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 2,
    });
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queues.requestsQueueUrl,
        MessageBody: JSON.stringify(ready(seed[0].jobId, 'dlq-1')),
      }),
    );
    const esm = startEventSourceMapping({
      sqs: stack.sqs,
      queueUrl: stack.queues.requestsQueueUrl,
      handler: transitions,
    });
    const dlq = await eventually(
      async () => {
        const d = await depth(stack!.sqs, stack!.queues.dlqUrl);
        return d.visible > 0 ? d : undefined;
      },
      100,
      200,
    );
    await esm.stop();
    expect(dlq.visible).toBe(1);
    const outcomes = (await drainResults(stack)) as Outcome[];
    expect(outcomes.length).toBe(2); // one per delivery
    for (const o of outcomes)
      expect(o).toMatchObject({ id: 'dlq-1', outcome: 'failed', attempts: 2, error: { httpStatus: 500 } });
    expect(JSON.parse((await drain(stack.sqs, stack.queues.dlqUrl))[0]!).id).toBe('dlq-1');
  });

  it('a select message fans out through the requests queue, one outcome per job', async () => {
    stack = await startStack({ sandbox: { seed: [...seed] } });
    const { jobId: _, ...noJob } = ready('x', 'sel-1');
    const res = await transitions(
      sqsEvent([{ ...noJob, select: { statuses: ['Suspended'], descriptionPrefix: 'nightly-' } }]),
      context(),
    );
    expect(res.batchItemFailures).toEqual([]);
    const [report] = (await drainResults(stack)) as FanoutReport[];
    expect(report).toMatchObject({ type: 'fanout', id: 'sel-1', matched: 2, enqueued: 2, failed: 0 });
    const queued = (await drain(stack.sqs, stack.queues.requestsQueueUrl)).map((b) => JSON.parse(b));
    expect(queued.map((m) => m.id).sort()).toEqual([`sel-1/${seed[0].jobId}`, `sel-1/${seed[1].jobId}`]);
    expect(queued.every((m) => m.select === undefined && m.requestedJobStatus === 'Ready')).toBe(true);
  });
});

describe('functions/schedule.ts', () => {
  it('a schedule with a select over 2,500 jobs: every match enqueued with a derived id, then processed', async () => {
    const jobs = generateJobs(2500, {
      provider: 'cos',
      appId: COS.appId,
      account: COS.account,
      region: COS.region,
      status: 'Suspended',
    });
    stack = await startStack({ sandbox: { seed: [...jobs, ...seed] } });
    const fireTime = '2026-11-24T17:00:00Z';
    const result = await scheduleHandler(
      {
        schedule: 'confirm-nightly',
        fireTime,
        transitions: [
          {
            ...COS,
            select: { statuses: ['Suspended'], descriptionPrefix: 'nightly-bench-', max: 5000 },
            action: 'UpdateJobStatus',
            requestedJobStatus: 'Ready',
          },
          ready(seed[0].jobId),
          { provider: 'cos', region: 'NOT A REGION' },
        ],
      },
      context(),
    );
    expect(result).toMatchObject({ enqueued: 2501, failed: 0, invalid: 1 });
    expect(result.fanouts[0]).toMatchObject({ matched: 2500, enqueued: 2500, truncated: false });

    const esm = startEventSourceMapping({
      sqs: stack.sqs,
      queueUrl: stack.queues.requestsQueueUrl,
      handler: transitions,
      maxConcurrency: 4,
    });
    const outcomes: Outcome[] = [];
    await eventually(
      async () => {
        outcomes.push(...((await drainResults(stack!)).filter((r) => !isFanout(r)) as Outcome[]));
        return outcomes.length >= 2502 ? true : undefined;
      },
      // 2,502 guarded transitions (each a few requests to the local table): 90 s at most.
      900,
      100,
    );
    await esm.stop();
    const ids = new Set(outcomes.map((o) => o.id));
    expect(ids.has(`confirm-nightly/${fireTime}/${seed[0].jobId}`)).toBe(true);
    expect(ids.has(`confirm-nightly/${fireTime}/${jobs[0]!.jobId}`)).toBe(true);
    expect(outcomes.filter((o) => o.outcome === 'applied').length).toBe(2501);
    expect(outcomes.filter((o) => o.outcome === 'invalid').length).toBe(1);
    expect(outcomes.find((o) => o.outcome === 'invalid')?.trigger).toEqual({
      type: 'schedule',
      schedule: 'confirm-nightly',
      fireTime,
    });
  }, 120_000);

  it('refuses an input without a schedule name or transitions', async () => {
    stack = await startStack();
    await expect(scheduleHandler({ schedule: '', transitions: [] }, context())).rejects.toThrow(/schedule/);
    await expect(scheduleHandler({ schedule: 'x', transitions: [] }, context())).rejects.toThrow(
      /transitions/,
    );
  });
});

describe('the requests queue', () => {
  it('FIFO deduplication ids are injective: ids differing only outside ASCII, or in a space, are all delivered (12.6)', async () => {
    const ids = ['作业-1', '任务-1', 'a b', 'a_b'];
    expect(new Set(ids.map(dedupIdOf)).size).toBe(4);
    for (const id of ids) expect(dedupIdOf(id)).toMatch(/^[0-9a-f]{64}$/);

    stack = await startStack({ fifo: true });
    const transitions = ids.map((id, i) => ({ ...ready(seed[i]!.jobId, id) }) as Transition);
    const report = await stack.runtime.enqueue(transitions.map(toRequestMessage));
    expect(report.failed).toEqual([]);
    const bodies = await drain(stack.sqs, stack.env.REQUESTS_QUEUE_URL!);
    expect(bodies.map((b) => (JSON.parse(b) as { id: string }).id).sort()).toEqual([...ids].sort());
  });

  it('sendAll against a failing queue makes exactly the attempts it intends, the SDK adding none (14.5)', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.sqs#InternalError', message: 'down' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const sqs = createSendingClient({
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${port}`,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      });
      try {
        const r = await sendAll(sqs, `http://127.0.0.1:${port}/000000000000/q`, [{ body: 'x' }], {
          attempts: 3,
          baseDelayMs: 1,
          callTimeoutMs: 5_000,
        });
        expect(r.sent).toEqual([]);
        expect(r.failed.map((f) => f.index)).toEqual([0]);
        expect(requests).toBe(3);
      } finally {
        sqs.destroy();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
