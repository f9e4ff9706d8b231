/**
 * `jobctl send`, `jobctl results` and `jobctl redrive` against the embedded queue (fauxqs over the
 * real SQS wire): validation before sending, the flag form, reading / peeking / filtering
 * outcomes, following, and moving dead letters back.
 */

import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../lib/cli/main';
import type { Outcome } from '../../lib/core/outcome';
import type { SettledMessage } from '../../lib/lambda/ledger';
import {
  type FanoutReport,
  type PublishedRecord,
  type ResultRecord,
  toResultMessage,
} from '../../lib/lambda/publisher';
import { createSqsClient, sendAll } from '../../lib/lambda/sqs';
import {
  createQueueSet,
  type EmbeddedQueue,
  type QueueSet,
  startEmbeddedQueue,
} from '../../lib/local/queue/embedded';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import { cli, targetFlags, testIo, waitFor } from '../support/io';

let queue: EmbeddedQueue;
let sqs: SQSClient;
let baseEnv: NodeJS.ProcessEnv;
let n = 0;

beforeAll(async () => {
  queue = await startEmbeddedQueue();
  baseEnv = {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SQS: queue.endpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
  sqs = createSqsClient(baseEnv);
});
afterAll(async () => {
  sqs.destroy();
  await queue.stop();
});

/** A fresh queue set per test, so no test sees another's messages. */
async function queues(fifo = false): Promise<{ q: QueueSet; env: NodeJS.ProcessEnv }> {
  const q = await createQueueSet(sqs, { prefix: `cli-${n++}`, fifo, visibilityTimeoutSeconds: 30 });
  return {
    q,
    env: { ...baseEnv, REQUESTS_QUEUE_URL: q.requestsQueueUrl, RESULTS_QUEUE_URL: q.resultsQueueUrl },
  };
}

/** Everything visible on a queue right now (received, left in flight). */
async function receiveAll(url: string, attrs = false): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 30,
        ...(attrs ? { MessageSystemAttributeNames: ['MessageGroupId'] as const } : {}),
      }),
    );
    if (!r.Messages?.length) return out;
    out.push(...r.Messages);
  }
}

async function depth(url: string): Promise<number> {
  const r = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(r.Attributes?.ApproximateNumberOfMessages) +
    Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

const COS = EXAMPLE_TARGETS.cos;
const JOB = '53dc6228-c50b-46f7-8ad7-65e7159f1aae';
const readyLine = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ...COS, jobId: JOB, action: 'UpdateJobStatus', requestedJobStatus: 'Ready', ...extra });

describe('jobctl send', () => {
  it('refuses a file with an invalid transition, naming line and field, and enqueues nothing (exit 2)', async () => {
    const { q, env } = await queues();
    const input = [readyLine(), readyLine({ priority: '5' }), readyLine({ region: 'AP_SOUTH' })].join('\n');
    const r = await cli(['send', '-'], { env, stdin: input });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('line 2: priority: must be an integer from 0 to 2147483647, not a string');
    expect(r.stderr).toContain('line 3: region: must match ^[a-z0-9-]{1,63}$, not starting or ending with -');
    expect(r.stderr).toContain('nothing was sent');
    expect(await depth(q.requestsQueueUrl)).toBe(0);
  });

  it('enqueues every transition of JSON Lines, as validated messages', async () => {
    const { q, env } = await queues();
    const input = [readyLine({ id: 'a', statusUpdateReason: '' }), readyLine({ id: 'b' })].join('\n');
    const r = await cli(['send'], { env, stdin: input });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^enqueued 2 of 2 transitions on cli-\d+-requests\n$/);
    const bodies = (await receiveAll(q.requestsQueueUrl)).map((m) => JSON.parse(m.Body!));
    expect(bodies.map((b) => b.id).sort()).toEqual(['a', 'b']);
    // the empty reason is not sent at all, as the contract says
    expect(bodies.find((b) => b.id === 'a')).not.toHaveProperty('statusUpdateReason');
  });

  it('builds one transition from flags (status change) and prints JSON with --json', async () => {
    const { q, env } = await queues();
    const r = await cli(
      [
        'send',
        ...targetFlags(EXAMPLE_TARGETS.cos),
        '--job',
        JOB,
        '--status',
        'Ready',
        '--reason',
        'off-peak window opened',
        '--id',
        'nightly-2026-11-24/53dc6228',
        '--not-after',
        '2030-11-24T06:00:00+08:00',
        '--json',
      ],
      { env },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ enqueued: 1, failed: [] });
    const [m] = await receiveAll(q.requestsQueueUrl);
    expect(JSON.parse(m!.Body!)).toEqual({
      id: 'nightly-2026-11-24/53dc6228',
      provider: 'cos',
      region: EXAMPLE_TARGETS.cos.region,
      account: EXAMPLE_TARGETS.cos.account,
      appId: EXAMPLE_TARGETS.cos.appId,
      jobId: JOB,
      action: 'UpdateJobStatus',
      requestedJobStatus: 'Ready',
      statusUpdateReason: 'off-peak window opened',
      notAfter: '2030-11-24T06:00:00+08:00',
      // Stamped by send: the per-job order the transitions function keeps (issue 15).
      requestedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('builds a select with a priority change from flags', async () => {
    const { q, env } = await queues();
    const r = await cli(
      [
        'send',
        ...targetFlags(EXAMPLE_TARGETS.s3),
        '--select-status',
        'Active',
        '--select-status',
        'Suspended',
        '--prefix',
        'bulk-',
        '--older-than',
        '30',
        '--max',
        '5',
        '--priority',
        '3',
      ],
      { env },
    );
    expect(r.code).toBe(0);
    const [m] = await receiveAll(q.requestsQueueUrl);
    expect(JSON.parse(m!.Body!)).toEqual({
      provider: 's3',
      region: 'us-east-1',
      account: EXAMPLE_TARGETS.s3.account,
      select: { statuses: ['Active', 'Suspended'], descriptionPrefix: 'bulk-', olderThanMinutes: 30, max: 5 },
      action: 'UpdateJobPriority',
      priority: 3,
      requestedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it.each([
    [['--region', 'AP'], '--region: must match ^[a-z0-9-]{1,63}$, not starting or ending with -'],
    [['--account', '12x'], '--account: must be the UIN: 1–64 digits'],
    [['--status', 'Paused'], '--status: must be Ready or Cancelled'],
    [['--select-status', 'Bogus', '--job', ''], '--select-status: must be one of New'],
    [['--priority', '5'], 'give --status (UpdateJobStatus) or --priority (UpdateJobPriority), not both'],
    [['--priority=-1', '', '--status', ''], '--priority: must be an integer from 0 to 2147483647'],
    [['--priority', 'high', '--status', ''], '--priority must be a number, not "high"'],
    [['--reason', 'x'.repeat(257)], '--reason: must be at most 256 bytes of UTF-8'],
    [['--not-after', 'tomorrow'], '--not-after: must be an ISO 8601 time'],
    [['--app-id', ''], '--app-id: must be the APPID'],
  ])('refuses flags breaking a message rule, naming the flag: %j', async (override, message) => {
    const { q, env } = await queues();
    const flags: Record<string, string> = {
      '--provider': 'cos',
      '--region': EXAMPLE_TARGETS.cos.region,
      '--account': EXAMPLE_TARGETS.cos.account,
      '--app-id': EXAMPLE_TARGETS.cos.appId,
      '--job': JOB,
      '--status': 'Ready',
    };
    const extra: string[] = [];
    for (let i = 0; i < override.length; i += 2) {
      if (override[i]! in flags) flags[override[i]!] = override[i + 1]!;
      else extra.push(...[override[i]!, override[i + 1]!].filter((x) => x !== ''));
    }
    if (flags['--job'] === '') delete flags['--job'];
    if (flags['--status'] === '') delete flags['--status'];
    const r = await cli(['send', ...Object.entries(flags).flat(), ...extra], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(await depth(q.requestsQueueUrl)).toBe(0);
  });

  it('refuses a FILE together with flags, and a missing change', async () => {
    const { env } = await queues();
    expect((await cli(['send', 'x.json', '--provider', 'cos'], { env })).stderr).toContain('not both');
    const r = await cli(['send', ...targetFlags(EXAMPLE_TARGETS.oss), '--job', 'abc='], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give --status Ready|Cancelled or --priority N');
  });

  it('validates only with --dry-run', async () => {
    const { q, env } = await queues();
    const r = await cli(['send', '--dry-run'], { env, stdin: readyLine() });
    expect(r).toMatchObject({ code: 0, stdout: '1 valid transition; nothing sent (--dry-run)\n' });
    expect(await depth(q.requestsQueueUrl)).toBe(0);
  });

  it('groups FIFO messages by job', async () => {
    const { q, env } = await queues(true);
    const r = await cli(['send', '-'], {
      env,
      stdin: [readyLine({ id: 'f1' }), readyLine({ id: 'f2', jobId: 'other-job-1' })].join('\n'),
    });
    expect(r.code).toBe(0);
    const msgs = await receiveAll(q.requestsQueueUrl, true);
    expect(msgs.map((m) => m.Attributes?.MessageGroupId).sort()).toEqual(
      [`cos:100000000001:ap-guangzhou:${JOB}`, 'cos:100000000001:ap-guangzhou:other-job-1'].sort(),
    );
  });

  it('shows progress on stderr only when it is a terminal', async () => {
    const { env } = await queues();
    const piped = await cli(['send'], { env, stdin: readyLine({ id: 'p1' }) });
    expect(piped.stderr).toBe('');
    const tty = await cli(['send'], {
      env,
      stdin: [readyLine({ id: 'p2' }), readyLine({ id: 'p3' })].join('\n'),
      tty: true,
    });
    expect(tty.stderr).toContain('jobctl send: 2/2');
    expect(tty.stdout).toContain('enqueued 2 of 2');
  });

  it('needs REQUESTS_QUEUE_URL (exit 1)', async () => {
    const r = await cli(['send', '-'], { env: baseEnv, stdin: readyLine() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('REQUESTS_QUEUE_URL is not set');
  });
});

// ── results ────────────────────────────────────────────────────────────────────────────────

const outcome = (kind: Outcome['outcome'], id: string, extra: Partial<Outcome> = {}): Outcome => ({
  id,
  provider: 'cos',
  region: EXAMPLE_TARGETS.cos.region,
  account: EXAMPLE_TARGETS.cos.account,
  jobId: JOB,
  action: 'UpdateJobStatus',
  outcome: kind,
  status: kind === 'applied' ? 'Ready' : null,
  priority: null,
  error:
    kind === 'rejected' ? { code: 'NoSuchJob', message: 'gone', httpStatus: 404, requestId: 'r1' } : null,
  attempts: 1,
  trigger: { type: 'sqs', messageId: 'm' },
  startedAt: '2026-11-24T00:00:00.000Z',
  finishedAt: '2026-11-24T00:00:01.000Z',
  ...extra,
});

const fanout: FanoutReport = {
  type: 'fanout',
  id: 'nightly-confirm@2026-11-24T01:00',
  source: 'schedule:nightly-confirm',
  provider: 'cos',
  region: EXAMPLE_TARGETS.cos.region,
  account: EXAMPLE_TARGETS.cos.account,
  action: 'UpdateJobStatus',
  matched: 4,
  enqueued: 4,
  failed: 0,
  truncated: false,
  startedAt: '2026-11-24T00:00:00.000Z',
  finishedAt: '2026-11-24T00:00:01.000Z',
  error: null,
};

async function publish(url: string, records: PublishedRecord[]) {
  const report = await sendAll(sqs, url, records.map(toResultMessage));
  expect(report.failed).toEqual([]);
}

describe('jobctl results', () => {
  let env: NodeJS.ProcessEnv;
  let url: string;
  const records = [outcome('applied', 'nightly-2026-11-24/53dc6228'), outcome('rejected', 'r-1'), fanout];

  beforeEach(async () => {
    const s = await queues();
    env = s.env;
    url = s.q.resultsQueueUrl;
    await publish(url, records);
  });

  it('prints every record as a JSON line when piped, deletes them, and stops when the queue reads empty', async () => {
    const r = await cli(['results'], { env });
    expect(r.code).toBe(0);
    expect(r.json<ResultRecord>().sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...records].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(await depth(url)).toBe(0);
  });

  it('keeps them with --peek: visible again at once', async () => {
    const r = await cli(['results', '--peek', '--json'], { env });
    expect(r.json()).toHaveLength(3);
    expect(await receiveAll(url)).toHaveLength(3);
  });

  it('--outcome filters: prints and deletes only those, and the others are visible again at once', async () => {
    const r = await cli(['results', '--outcome', 'rejected', '--outcome', 'fanout'], { env });
    expect(
      r
        .json<ResultRecord>()
        .map((x) => x.id)
        .sort(),
    ).toEqual(['nightly-confirm@2026-11-24T01:00', 'r-1']);
    const left = await receiveAll(url);
    expect(left.map((m) => JSON.parse(m.Body!).id)).toEqual(['nightly-2026-11-24/53dc6228']);
  });

  it('prints compact lines on a terminal, fan-out reports as such', async () => {
    const r = await cli(['results', '--outcome', 'applied', '--outcome', 'fanout'], { env, tty: true });
    const lines = r.stdout.trim().split('\n').sort();
    expect(lines).toEqual(
      [
        'applied   cos 100000000001 53dc6228… Ready      nightly-2026…/53dc6228',
        'fanout    cos 100000000001 select    matched 4, enqueued 4 nightly-conf…-24T01:00',
      ].sort(),
    );
  });

  it('--type settled prints each verdict as one readable line (with its message attribute) and leaves the rest', async () => {
    const settled: SettledMessage = {
      type: 'settled',
      id: 'settled/cos#100000000001#ap-guangzhou#1250000000#53dc6228-c50b',
      provider: 'cos',
      region: 'ap-guangzhou',
      account: '100000000001',
      appId: '1250000000',
      jobId: '53dc6228-c50b',
      description: 'nightly-1',
      policy: 'nightly-window',
      status: 'Complete',
      verdict: 'partial',
      tasks: { total: 1000, succeeded: 990, failed: 10 },
      failureReasons: [{ code: 'SomeTasksFailed', reason: '10 tasks failed' }],
      report: 'qcs::cos:ap-guangzhou::rep-1250000000/reports/',
      createdAt: '2026-12-06T00:00:00Z',
      confirmedAt: '2026-12-06T01:00:00Z',
      endedAt: '2026-12-06T02:00:00Z',
      outcomeIds: ['nightly-2026-12-06/53dc6228'],
      settledAt: '2026-12-06T02:05:00Z',
    };
    expect(toResultMessage(settled).attributes).toEqual({
      type: 'settled',
      verdict: 'partial',
      provider: 'cos',
    });
    await publish(url, [settled]);
    const r = await cli(['results', '--type', 'settled'], { env, tty: true });
    expect(r.stdout.trim()).toBe(
      'settled   cos 100000000001 53dc6228… partial   Complete  990/1000 ok, 10 failed [SomeTasksFailed] nightly-window',
    );
    const json = await cli(['results', '--type', 'settled', '--json'], { env });
    expect(json.stdout).toBe('');
    expect((await receiveAll(url)).map((m) => JSON.parse(m.Body!).id).sort()).toEqual(
      records.map((x) => x.id).sort(),
    );
  });

  it('--max N stops after N records and leaves the rest', async () => {
    const r = await cli(['results', '--max', '1'], { env });
    expect(r.json()).toHaveLength(1);
    expect(await receiveAll(url)).toHaveLength(2);
  });

  it('refuses an unknown --outcome kind (exit 2)', async () => {
    const r = await cli(['results', '--outcome', 'bogus'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--outcome must be one of applied, unchanged, rejected, invalid, expired, superseded, failed, fanout',
    );
  });

  it('--follow prints records as they arrive until interrupted', async () => {
    const io = testIo({ env });
    const running = main(['results', '--follow', '--json'], io);
    await waitFor(io.stdout, io.out, /^(.*\n){3}$/);
    await publish(url, [outcome('unchanged', 'late-1')]);
    await waitFor(io.stdout, io.out, /"late-1"/);
    io.interrupt();
    expect(await running).toBe(0);
    expect(io.out().trim().split('\n')).toHaveLength(4);
    expect(await depth(url)).toBe(0);
  });
});

// ── redrive ────────────────────────────────────────────────────────────────────────────────

describe('jobctl redrive', () => {
  it('moves every DLQ message back to the requests queue (found through the RedrivePolicy)', async () => {
    const { q, env } = await queues();
    for (const id of ['d1', 'd2', 'd3'])
      await sqs.send(new SendMessageCommand({ QueueUrl: q.dlqUrl, MessageBody: readyLine({ id }) }));
    const r = await cli(['redrive'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^moved 3 messages from cli-\d+-requests-dlq to cli-\d+-requests\n$/);
    expect(await depth(q.dlqUrl)).toBe(0);
    const moved = await receiveAll(q.requestsQueueUrl);
    expect(moved.map((m) => JSON.parse(m.Body!).id).sort()).toEqual(['d1', 'd2', 'd3']);
  });

  it('keeps FIFO message groups, moves at most --max, and prints JSON', async () => {
    const { q, env } = await queues(true);
    for (const [id, group] of [
      ['g1', 'job-a'],
      ['g2', 'job-b'],
      ['g3', 'job-b'],
    ] as const)
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: q.dlqUrl,
          MessageBody: readyLine({ id }),
          MessageGroupId: group,
          MessageDeduplicationId: id,
        }),
      );
    const r = await cli(['redrive', '--json', '--max', '2'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ moved: 2, failed: [], dlq: q.dlqUrl });
    const moved = await receiveAll(q.requestsQueueUrl, true);
    expect(moved).toHaveLength(2);
    for (const m of moved)
      expect(m.Attributes?.MessageGroupId).toBe(
        { g1: 'job-a', g2: 'job-b', g3: 'job-b' }[JSON.parse(m.Body!).id as 'g1'],
      );
    expect(await depth(q.dlqUrl)).toBe(1);
  });

  it('says so when the requests queue has no RedrivePolicy (exit 1)', async () => {
    const { q, env } = await queues();
    const r = await cli(['redrive'], { env: { ...env, REQUESTS_QUEUE_URL: q.resultsQueueUrl } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no RedrivePolicy');
  });

  it('moves nothing from an empty DLQ (exit 0)', async () => {
    const { env } = await queues();
    const r = await cli(['redrive'], { env });
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^moved 0 messages/);
  });
});
