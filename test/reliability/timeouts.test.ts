/**
 * Deadlines: a provider that never answers (the sandbox holding every request) never makes the
 * transitions handler run past its Lambda context. Time is measured by the context's own clock
 * (`getRemainingTimeInMillis()` when the handler returns); records that could not finish come back
 * as `batchItemFailures`, and none is dropped: each record has its terminal outcome on the results
 * queue or is listed as a failure.
 */

import net from 'node:net';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { isTerminal } from '../../lib/core/outcome';
import type { TransitionsHandler } from '../../lib/lambda/handlers';
import { createSqsClient } from '../../lib/lambda/sqs';
import { startEventSourceMapping } from '../../lib/local/event-source-mapping';
import { generateJobs } from '../../lib/local/sandbox/seed';
import type { ProviderName } from '../../lib/providers/types';
import { context, depth, drain, drainResults, eventually, type Stack, sqsEvent } from '../support/harness';
import { installRuntime, outcomesOf, startReliabilityStack, TARGETS } from '../support/reliability';

const PROVIDERS: ProviderName[] = ['cos', 'oss', 's3'];
const byProvider = Object.fromEntries(
  PROVIDERS.map((p, i) => [p, generateJobs(4, { ...TARGETS[p], seed: 300 + i, description: 'timeouts-' })]),
) as Record<ProviderName, ReturnType<typeof generateJobs>>;
const jobs = PROVIDERS.flatMap((p) => byProvider[p]);
/** Ready for the job `i / 3` of provider `i % 3`: consecutive records cycle through the providers. */
const ready = (i: number) => {
  const p = PROVIDERS[i % 3]!;
  return {
    id: `hang-${i}`,
    ...TARGETS[p],
    jobId: byProvider[p][Math.floor(i / 3)]!.jobId!,
    action: 'UpdateJobStatus',
    requestedJobStatus: 'Ready',
  };
};
/** Terminal without any provider call: invalid, expired, outside the allowlist. */
const settledWithoutCalls = [
  { ...ready(9), id: 'no-call-invalid', priority: 'x' },
  { ...ready(10), id: 'no-call-expired', notAfter: '2020-01-01T00:00:00Z' },
  { ...ready(11), id: 'no-call-not-allowed', account: '999999999999' },
];
const ALLOWED = 'cos:100000000001,oss:*@cn-hangzhou,s3:123456789012';

let stack: Stack | undefined;
/** The real handler on the current test's stack (its runtime as last wired). */
const transitions: TransitionsHandler = (event, ctx) => stack!.handlers.transitions(event, ctx);
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('a provider that hangs', () => {
  it.each([
    { callTimeoutMs: '10000', why: 'the default call timeout, longer than the function' },
    { callTimeoutMs: '120000', why: 'the longest call timeout allowed' },
  ])('never runs the handler past its context ($why)', async ({ callTimeoutMs }) => {
    stack = await startReliabilityStack({
      sandbox: { seed: jobs, faults: { seed: 1, hangRate: 1, hangMs: 600_000 } },
    });
    installRuntime(stack, {
      env: {
        JOBCTL_CALL_TIMEOUT_MS: callTimeoutMs,
        JOBCTL_RETRY_BUDGET_MS: '900000',
        JOBCTL_RESERVE_MS: '500',
        // Fewer slots than records, so some records never start: they must fail unprocessed.
        JOBCTL_CONCURRENCY: '3',
        JOBCTL_ALLOWED_TARGETS: ALLOWED,
      },
    });
    // The settled records come first: they take the slots first and give them back at once.
    const bodies = [...settledWithoutCalls, ...[0, 1, 2, 3, 4, 5, 6].map(ready)];
    const event = sqsEvent(bodies);
    const ctx = context(3_000);

    const response = await transitions(event, ctx);
    const remaining = ctx.getRemainingTimeInMillis();

    expect(remaining, 'the handler returned before its context ran out').toBeGreaterThan(0);
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const outcomes = outcomesOf(await drainResults(stack));
    const byMessage = new Map(outcomes.map((o) => [o.trigger.type === 'sqs' ? o.trigger.messageId : '', o]));
    for (const [i, record] of event.Records.entries()) {
      const o = byMessage.get(record.messageId);
      if (i >= settledWithoutCalls.length) {
        // Hung: listed for redelivery; if it started, its `failed` outcome says why.
        expect(failed.has(record.messageId), `record ${i} is returned to the queue`).toBe(true);
        if (o)
          expect(o).toMatchObject({
            outcome: 'failed',
            error: { code: expect.stringMatching(/^(Timeout|DeadlineExceeded)$/) },
          });
      } else {
        expect(failed.has(record.messageId)).toBe(false);
        expect(o && isTerminal(o.outcome), `record ${i} has its terminal outcome`).toBe(true);
      }
    }
    expect(new Set(outcomes.filter((o) => o.outcome !== 'failed').map((o) => o.id))).toEqual(
      new Set(settledWithoutCalls.map((b) => b.id)),
    );
    // The hang was met: calls started and timed out, and later records found no time left.
    expect(outcomes.filter((o) => o.outcome === 'failed').length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.outcome === 'failed').length).toBeLessThan(7);
    expect(stack.sandbox.stats().requests).toBeGreaterThan(0);
  });

  it('through the event source mapping: no invocation overruns, hung messages end in the DLQ', async () => {
    stack = await startReliabilityStack({
      sandbox: { seed: jobs, faults: { seed: 2, hangRate: 1, hangMs: 600_000 } },
      visibilityTimeoutSeconds: 3,
      maxReceiveCount: 2,
    });
    installRuntime(stack, { env: { JOBCTL_RESERVE_MS: '400', JOBCTL_ALLOWED_TARGETS: ALLOWED } });
    const bodies = [...[0, 1, 2, 3, 4].map(ready), ...settledWithoutCalls];
    for (const b of bodies)
      await stack.sqs.send(
        new SendMessageCommand({ QueueUrl: stack.queues.requestsQueueUrl, MessageBody: JSON.stringify(b) }),
      );
    const remainingAtReturn: number[] = [];
    const mapping = startEventSourceMapping({
      sqs: stack.sqs,
      queueUrl: stack.queues.requestsQueueUrl,
      handler: async (event, ctx) => {
        const r = await transitions(event, ctx);
        remainingAtReturn.push(ctx.getRemainingTimeInMillis());
        return r;
      },
      functionTimeoutMs: 2_000,
      batchingWindowMs: 300,
    });
    const s = stack;
    await eventually(
      async () => {
        const [dlq, requests] = await Promise.all([
          depth(s.sqs, s.queues.dlqUrl),
          depth(s.sqs, s.queues.requestsQueueUrl),
        ]);
        return dlq.visible === 5 && requests.visible + requests.inFlight === 0 && mapping.inFlight === 0
          ? true
          : undefined;
      },
      150,
      200,
    );
    await mapping.stop();

    expect(mapping.stats.crashed, 'no invocation ran past its timeout').toBe(0);
    expect(remainingAtReturn.length).toBe(mapping.stats.invocations);
    for (const left of remainingAtReturn) expect(left).toBeGreaterThan(0);
    const dlq = (await drain(s.sqs, s.queues.dlqUrl)).map((b) => JSON.parse(b).id as string);
    expect(dlq.sort()).toEqual(['hang-0', 'hang-1', 'hang-2', 'hang-3', 'hang-4']);
    const outcomes = outcomesOf(await drainResults(s));
    for (const o of outcomes)
      if (o.id.startsWith('hang-')) expect(o.outcome).toBe('failed');
      else expect(isTerminal(o.outcome)).toBe(true);
    expect(new Set(outcomes.filter((o) => !o.id.startsWith('hang-')).map((o) => o.id))).toEqual(
      new Set(settledWithoutCalls.map((b) => b.id)),
    );
  });
});

describe('a results queue that hangs', () => {
  // Regression: publishing had no time limit, so a results queue that accepts the connection and
  // never answers held the handler until Lambda killed it. Every SQS call is now bounded by the
  // invocation's deadline.
  it('does not hold the handler past its context', async () => {
    stack = await startReliabilityStack({ sandbox: { seed: jobs } });
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const sqs = createSqsClient({ ...stack.env, AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${port}` });
      installRuntime(stack, { sqs, env: { JOBCTL_RESERVE_MS: '500' } });
      const ctx = context(2_000);
      let returned = false;
      const run = transitions(sqsEvent([ready(0)]), ctx).then((r) => {
        returned = true;
        return r;
      });
      // Wait for the handler, at most until the context has run out and a second more.
      await Promise.race([run, new Promise((r) => setTimeout(r, 3_000))]);
      expect(returned, 'the handler returned').toBe(true);
      expect(ctx.getRemainingTimeInMillis()).toBeGreaterThan(0);
      const { batchItemFailures } = await run;
      expect(batchItemFailures.length).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
