/**
 * The embedded queue with a data directory, spoken to over the SQS wire as `jobctl run` and its
 * users speak to it: what was acknowledged before a stop — or a kill -9 — is there after a restart.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListQueueTagsCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqsClient } from '../../lambda/sqs';
import { type EmbeddedQueue, startEmbeddedQueue } from './embedded';
import { checkFauxqsSurfaces, describeRestore, FAUXQS_SURFACES, JOURNAL_FILE } from './persist';

let dir: string;
let running: EmbeddedQueue | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jobctl-queue-'));
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const client = (endpoint: string, extra = {}) =>
  createSqsClient(
    {
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
    },
    extra,
  );

/** Start (or restart) the queue on `dir`, stopping the one before. */
async function open(opts: Parameters<typeof startEmbeddedQueue>[0] = {}): Promise<SQSClient> {
  await running?.stop();
  running = await startEmbeddedQueue({ dataDir: dir, ...opts });
  return client(running.endpoint);
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string> = {}) {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
}

async function receive(
  sqs: SQSClient,
  url: string,
  o: { max?: number; visibility?: number; wait?: number } = {},
) {
  const r = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: o.max ?? 10,
      VisibilityTimeout: o.visibility ?? 60,
      WaitTimeSeconds: o.wait ?? 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return r.Messages ?? [];
}

async function counts(sqs: SQSClient, url: string) {
  const a = (
    await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    )
  ).Attributes!;
  return {
    visible: Number(a.ApproximateNumberOfMessages),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible),
  };
}

/** The URL this run gives a queue (the port changes between runs). */
const urlNow = async (sqs: SQSClient, name: string) => createQueue(sqs, name);

describe('the fauxqs internals persistence depends on', () => {
  it('are all still there in the installed fauxqs (each problem names its surface)', async () => {
    const problems = await checkFauxqsSurfaces();
    expect(
      problems,
      `fauxqs changed what lib/local/queue/persist.ts wraps — re-check FAUXQS_SURFACES:\n${problems.join('\n')}`,
    ).toEqual([]);
    expect(FAUXQS_SURFACES.length).toBe(9);
  });
});

describe('embedded queue with a data directory', () => {
  it('keeps sent messages — body, attributes, ids, timestamps — across a restart', async () => {
    let sqs = await open();
    const url = await createQueue(sqs, 'keep');
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"id":"t-1"} ünïcode ✓',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'transition' },
          n: { DataType: 'Number', StringValue: '42' },
          raw: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 254, 255]) },
        },
      }),
    );
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `e${i}`, MessageBody: `batch-${i}` })),
      }),
    );
    expect(batch.Successful).toHaveLength(10);

    sqs = await open();
    const got = await drainAll(sqs, await urlNow(sqs, 'keep'));
    expect(got.map((m) => m.Body).sort()).toEqual(
      ['{"id":"t-1"} ünïcode ✓', ...Array.from({ length: 10 }, (_, i) => `batch-${i}`)].sort(),
    );
    const first = got.find((m) => m.MessageId === sent.MessageId)!;
    expect(first.MD5OfBody).toBe(sent.MD5OfMessageBody);
    expect(first.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(first.MessageAttributes?.kind?.StringValue).toBe('transition');
    expect(first.MessageAttributes?.n).toMatchObject({ DataType: 'Number', StringValue: '42' });
    expect([...(first.MessageAttributes?.raw?.BinaryValue ?? [])]).toEqual([0, 1, 254, 255]);
    expect(first.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(Number(first.Attributes?.SentTimestamp)).toBeGreaterThan(0);
    expect(running!.restored).toMatchObject({ queues: 1, messages: 11, inFlight: 0, tornLines: 0 });
  });

  it('keeps queue attributes and tags, and URLs from an earlier run keep working', async () => {
    let sqs = await open();
    const dlq = await createQueue(sqs, 'attrs-dlq');
    const url = await createQueue(sqs, 'attrs', { VisibilityTimeout: '45', DelaySeconds: '0' });
    const redrive = JSON.stringify({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:attrs-dlq',
      maxReceiveCount: 3,
    });
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { RedrivePolicy: redrive } }));
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { team: 'storage' } }));
    const oldPort = running!.port;

    sqs = await open();
    const attrs = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes!;
    expect(attrs).toMatchObject({ VisibilityTimeout: '45', RedrivePolicy: redrive });
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags).toEqual({ team: 'storage' });
    // CreateQueue answers with this run's URL; the old one (old port) still names the queue.
    const now = await urlNow(sqs, 'attrs');
    expect(url).toContain(`:${oldPort}/`);
    expect(now).toContain(`:${running!.port}/`);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'via old url' }));
    expect((await receive(sqs, now)).map((m) => m.Body)).toEqual(['via old url']);
    expect(await counts(sqs, dlq)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('a message received but not deleted stays in flight under its receipt handle, receive count kept', async () => {
    let sqs = await open();
    const url = await createQueue(sqs, 'inflight');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'work' }));
    const [m] = await receive(sqs, url, { visibility: 600 });
    expect(m?.Attributes?.ApproximateReceiveCount).toBe('1');

    sqs = await open();
    const now = await urlNow(sqs, 'inflight');
    expect(running!.restored).toMatchObject({ messages: 1, inFlight: 1 });
    expect(await counts(sqs, now)).toEqual({ visible: 0, inFlight: 1 });
    expect(await receive(sqs, now)).toEqual([]);
    // The consumer that received it may have survived: its handle still works.
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: now,
        ReceiptHandle: m!.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const [again] = await receive(sqs, now);
    expect(again?.MessageId).toBe(m!.MessageId);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(again?.Attributes?.ApproximateFirstReceiveTimestamp).toBe(
      m!.Attributes?.ApproximateFirstReceiveTimestamp,
    );
  });

  it('a message whose visibility timeout runs out comes back after a restart', async () => {
    let sqs = await open();
    const url = await createQueue(sqs, 'expire');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'lost consumer' }));
    const [m] = await receive(sqs, url, { visibility: 1 });

    sqs = await open();
    const now = await urlNow(sqs, 'expire');
    let back: Message[] = [];
    for (let i = 0; i < 10 && back.length === 0; i++) back = await receive(sqs, now, { wait: 1 });
    expect(back.map((x) => [x.MessageId, x.Attributes?.ApproximateReceiveCount])).toEqual([
      [m!.MessageId, '2'],
    ]);
  });

  it('a delete stays deleted, and a handle deleted before the restart is no longer in flight', async () => {
    let sqs = await open();
    const url = await createQueue(sqs, 'del');
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ['a', 'b', 'c'].map((b) => ({ Id: b, MessageBody: b })),
      }),
    );
    const got = await receive(sqs, url);
    expect(got).toHaveLength(3);
    const a = got.find((m) => m.Body === 'a')!;
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: a.ReceiptHandle }));
    const rest = got.filter((m) => m !== a);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: rest.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );

    sqs = await open();
    const now = await urlNow(sqs, 'del');
    expect(await counts(sqs, now)).toEqual({ visible: 0, inFlight: 0 });
    expect(running!.restored).toMatchObject({ messages: 0 });
  });

  it('the redrive policy keeps counting across restarts and moves the message to the DLQ', async () => {
    let sqs = await open();
    await createQueue(sqs, 'rd-dlq');
    const redrive = JSON.stringify({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:rd-dlq',
      maxReceiveCount: 2,
    });
    const url = await createQueue(sqs, 'rd', { RedrivePolicy: redrive });
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    // Received and abandoned (visibility 0: visible again at once), a restart after each.
    for (const n of ['1', '2']) {
      const [m] = await receive(sqs, await urlNow(sqs, 'rd'), { visibility: 0 });
      expect(m?.Attributes?.ApproximateReceiveCount).toBe(n);
      sqs = await open();
    }
    expect(await receive(sqs, await urlNow(sqs, 'rd'), { visibility: 0 })).toEqual([]);

    sqs = await open();
    expect(await counts(sqs, await urlNow(sqs, 'rd'))).toEqual({ visible: 0, inFlight: 0 });
    const [dead] = await receive(sqs, await urlNow(sqs, 'rd-dlq'));
    expect([dead?.MessageId, dead?.Body]).toEqual([sent.MessageId, 'poison']);
    expect(dead?.Attributes?.ApproximateReceiveCount).toBe('4');
  });

  it('FIFO: order within a group, group locks, deduplication and sequence numbers survive', async () => {
    let sqs = await open();
    const url = await createQueue(sqs, 'f.fifo', { FifoQueue: 'true' });
    const sendTo = (u: string, group: string, dedup: string) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: u,
          MessageBody: `${group}:${dedup}`,
          MessageGroupId: group,
          MessageDeduplicationId: dedup,
        }),
      );
    const first = await sendTo(url, 'A', 'a1');
    await sendTo(url, 'B', 'b1');
    await sendTo(url, 'A', 'a2');
    await sendTo(url, 'A', 'a3');
    const last = await sendTo(url, 'B', 'b2');
    // A's head goes in flight: A stays locked through the restart.
    const [head] = await receive(sqs, url, { max: 1 });
    expect(head?.Body).toBe('A:a1');

    sqs = await open();
    const now = await urlNow(sqs, 'f.fifo');
    const dup = await sendTo(now, 'A', 'a1');
    expect([dup.MessageId, dup.SequenceNumber]).toEqual([first.MessageId, first.SequenceNumber]);
    const fresh = await sendTo(now, 'A', 'a4');
    expect(BigInt(fresh.SequenceNumber!)).toBeGreaterThan(BigInt(last.SequenceNumber!));

    expect((await receive(sqs, now)).map((m) => m.Body)).toEqual(['B:b1']);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: now, ReceiptHandle: head!.ReceiptHandle }));
    const order: string[] = [];
    for (let i = 0; i < 10; i++) {
      const got = await receive(sqs, now, { max: 1 });
      if (got.length === 0) break;
      order.push(got[0]!.Body!);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: now, ReceiptHandle: got[0]!.ReceiptHandle }));
    }
    expect(order.filter((b) => b.startsWith('A'))).toEqual(['A:a2', 'A:a3', 'A:a4']);
    expect(order.filter((b) => b.startsWith('B'))).toEqual([]);
  });

  it('ignores a last line torn by a kill mid-write, and says so', async () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    let sqs = await open({ persistence: { warn } });
    const url = await createQueue(sqs, 'torn');
    for (const b of ['one', 'two']) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: b }));
    await running!.stop();
    running = undefined;
    appendFileSync(join(dir, JOURNAL_FILE), '{"t":"send","q":"torn","m":{"messageId":"half-writ');

    sqs = await open({ persistence: { warn } });
    expect(running!.restored).toMatchObject({ messages: 2, tornLines: 1 });
    expect(warnings).toEqual([
      expect.stringMatching(/queue\.jsonl: dropped its last line, cut short by a kill/),
    ]);
    const now = await urlNow(sqs, 'torn');
    await sqs.send(new SendMessageCommand({ QueueUrl: now, MessageBody: 'three' }));
    // The torn line is gone with the compaction at start, so it cannot end up mid-file.
    sqs = await open({ persistence: { warn } });
    expect(running!.restored).toMatchObject({ messages: 3, tornLines: 0, perQueue: { torn: 3 } });
    expect(warnings).toHaveLength(1);
    expect((await drainAll(sqs, await urlNow(sqs, 'torn'))).map((m) => m.Body).sort()).toEqual([
      'one',
      'three',
      'two',
    ]);
  });

  it('compacts while running once the journal outgrows the state it describes', async () => {
    let sqs = await open({ persistence: { compactAfterBytes: 8 * 1024 } });
    const url = await createQueue(sqs, 'compact');
    for (let i = 0; i < 20; i++)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 10 }, (_, j) => ({ Id: `e${j}`, MessageBody: `m-${i}-${j}` })),
        }),
      );
    const received = await drainAll(sqs, url, 190);
    const lines = readFileSync(join(dir, JOURNAL_FILE), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { t: string });
    // Snapshot lines (`m`) can only come from a compaction during this run: it started empty.
    expect(lines[0]).toMatchObject({ t: 'head' });
    expect(lines.some((l) => l.t === 'm')).toBe(true);
    // 1 queue + 200 sends + 190 receives + 190 deletes were recorded; fewer lines are left.
    expect(lines.length).toBeLessThan(581);

    sqs = await open();
    const left = await drainAll(sqs, await urlNow(sqs, 'compact'));
    const gone = new Set(received.map((m) => m.Body));
    expect(left).toHaveLength(10);
    expect(left.every((m) => !gone.has(m.Body))).toBe(true);
  });

  it('one process per data directory; a lock left by a killed process is taken over', async () => {
    await open();
    await expect(startEmbeddedQueue({ dataDir: dir })).rejects.toThrow(
      new RegExp(`in use by process ${process.pid}`),
    );
    await running!.stop();
    running = undefined;
    // Another live process (here: the test runner's parent) holds it.
    writeFileSync(join(dir, 'queue.lock'), String(process.ppid));
    await expect(startEmbeddedQueue({ dataDir: dir })).rejects.toThrow(
      new RegExp(`in use by process ${process.ppid}`),
    );
    // A process that has exited, as after kill -9.
    writeFileSync(join(dir, 'queue.lock'), String(spawnSync(process.execPath, ['-e', '']).pid));
    await open();
    expect(readFileSync(join(dir, 'queue.lock'), 'utf8')).toBe(String(process.pid));
  });

  it('refuses a file it did not write rather than overwrite it', async () => {
    writeFileSync(join(dir, JOURNAL_FILE), '{"jobs":[]}\n');
    await expect(startEmbeddedQueue({ dataDir: dir })).rejects.toThrow(
      /not a jobctl-queue\/1 journal.*move it away/,
    );
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe('{"jobs":[]}\n');
  });

  it('refuses a damaged line before the last one, naming the file and the line, and keeps the file', async () => {
    const sqs = await open();
    const url = await createQueue(sqs, 'damaged');
    for (const b of ['one', 'two', 'three'])
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: b }));
    await running!.stop();
    running = undefined;
    const file = join(dir, JOURNAL_FILE);
    const lines = readFileSync(file, 'utf8').split('\n');
    // Line 3 is the first send (head, queue, send…): damage it in the middle of the file.
    lines[2] = lines[2]!.slice(0, 20);
    const damaged = lines.join('\n');
    writeFileSync(file, damaged);
    await expect(startEmbeddedQueue({ dataDir: dir })).rejects.toThrow(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: not a journal line`),
    );
    expect(readFileSync(file, 'utf8')).toBe(damaged);
    // A line that is JSON but not a record the journal writes is damage too.
    lines[2] = '{"t":"nonsense"}';
    writeFileSync(file, lines.join('\n'));
    await expect(startEmbeddedQueue({ dataDir: dir })).rejects.toThrow(/queue\.jsonl:3: unknown record type/);
  });

  it('refuses a file of random bytes instead of starting an empty queue over it', async () => {
    const file = join(dir, JOURNAL_FILE);
    for (const bytes of [
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)),
      Buffer.from('no newline at all, not even one'),
    ]) {
      writeFileSync(file, bytes);
      await expect(startEmbeddedQueue({ dataDir: dir })).rejects.toThrow(/queue\.jsonl:1: not a/);
      expect(readFileSync(file).equals(bytes)).toBe(true);
    }
  });

  it('reports what it restored, per queue', async () => {
    const sqs = await open();
    const a = await createQueue(sqs, 'qa');
    const b = await createQueue(sqs, 'qb');
    for (const body of ['1', '2']) await sqs.send(new SendMessageCommand({ QueueUrl: a, MessageBody: body }));
    await sqs.send(new SendMessageCommand({ QueueUrl: b, MessageBody: '3' }));
    await receive(sqs, b);
    await open();
    expect(running!.restored).toEqual({
      queues: 2,
      messages: 3,
      inFlight: 1,
      perQueue: { qa: 2, qb: 1 },
      tornLines: 0,
    });
    expect(describeRestore(running!.restored!)).toBe(
      'restored 3 message(s) in 2 queue(s) (qa 2, qb 1), 1 in flight',
    );
  });

  it('loses no acknowledged send when the process is killed with SIGKILL mid-stream', async () => {
    // The queue in a child process, so that it dies the way `jobctl run` would under kill -9.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        '--input-type=module',
        '-e',
        `const { startEmbeddedQueue } = await import(${JSON.stringify(new URL('./embedded.ts', import.meta.url).href)});
         const q = await startEmbeddedQueue({ dataDir: ${JSON.stringify(dir)} });
         console.log('ENDPOINT=' + q.endpoint);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    while (!/ENDPOINT=\S+\n/.test(out)) out += String(((await once(child.stdout!, 'data')) as [Buffer])[0]);
    const endpoint = /ENDPOINT=(\S+)/.exec(out)![1]!;
    const sqs = client(endpoint, { maxAttempts: 1 });
    const url = await createQueue(sqs, 'kill');

    // Keep 8 senders busy; kill once 300 messages are acknowledged, with sends still in flight.
    const acked = new Set<string>();
    let refused = 0;
    let n = 0;
    let killed = false;
    const sender = async () => {
      while (!killed) {
        const base = n;
        n += 10;
        try {
          const r = await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: Array.from({ length: 10 }, (_, j) => ({ Id: `e${j}`, MessageBody: `k-${base + j}` })),
            }),
          );
          for (const ok of r.Successful ?? []) acked.add(`k-${base + Number(ok.Id!.slice(1))}`);
          if (acked.size >= 300 && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        } catch {
          refused++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await once(child, 'exit').catch(() => undefined);
    expect(child.signalCode).toBe('SIGKILL');

    const sqs2 = await open();
    const bodies = new Set((await drainAll(sqs2, await urlNow(sqs2, 'kill'))).map((m) => m.Body!));
    const missing = [...acked].filter((b) => !bodies.has(b));
    expect(missing).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(300);
    console.log(`kill -9: ${acked.size} acknowledged, ${refused} batch(es) cut off, ${bodies.size} on disk`);
  }, 60_000);
});

/** Receive and delete until the queue is empty (or `limit` messages are taken). */
async function drainAll(sqs: SQSClient, url: string, limit = Number.POSITIVE_INFINITY): Promise<Message[]> {
  const all: Message[] = [];
  while (all.length < limit) {
    const got = await receive(sqs, url, { max: Math.min(10, limit - all.length) });
    if (got.length === 0) break;
    all.push(...got);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return all;
}
