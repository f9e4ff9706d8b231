/**
 * Issue 9, "Restarts": `jobctl run --data-dir` killed with SIGKILL mid-batch and restarted on the
 * same directory loses nothing. Every transition whose send was acknowledged — before the kill,
 * or re-sent after it because the kill cut its send off — ends with an outcome on the results
 * queue. Outcomes are at least once: a transition handled but not yet deleted when the process
 * died is handled again (its message comes back after the visibility timeout), so duplicates
 * are expected and counted, never a gap.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../lib/core/outcome';
import { createSqsClient } from '../lib/lambda/sqs';
import { JOURNAL_FILE, replayJournal } from '../lib/local/queue/persist';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import { freePort } from './support/run-child';

const TOTAL = 300;
const FIRST_WAVE = 200;
const VISIBILITY_S = 10;
const CONCURRENCY = 2;
const BATCH_SIZE = 10;
/** At most this many messages are received and not yet deleted at any moment. */
const MAX_IN_FLIGHT = CONCURRENCY * BATCH_SIZE;

interface Run {
  child: ChildProcess;
  printed: Record<string, string>;
  /** Outcome lines seen on stdout (--json-log): how far the run got. */
  outcomes: () => number;
  stderr: () => string;
}

const dataDir = mkdtempSync(join(tmpdir(), 'jobctl-restart-'));
const runs: Run[] = [];

afterAll(() => {
  for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** `jobctl run` on the shared data directory; resolves once it prints JOBCTL_READY=1. */
function startRun(): Promise<Run> {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (/^(REQUESTS_|RESULTS_|COS_|OSS_|TENCENTCLOUD_|ALIBABA_|AWS_ENDPOINT)/.test(k)) delete env[k];
  const child = spawn(
    process.execPath,
    [
      'bin/jobctl.mjs',
      'run',
      '--data-dir',
      dataDir,
      '--queue-port',
      '0',
      '--sandbox-port',
      '0',
      '--dynamodb-port',
      '0',
      '--no-schedules',
      '--sandbox',
      // Slow provider calls, so that batches are in flight when the kill comes.
      '--sandbox-latency-ms',
      '300',
      '--visibility-timeout-s',
      String(VISIBILITY_S),
      '--batching-window-ms',
      '100',
      '--max-concurrency',
      String(CONCURRENCY),
      '--batch-size',
      String(BATCH_SIZE),
      '--json-log',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let outcomes = 0;
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const printed: Record<string, string> = {};
  const run: Run = { child, printed, outcomes: () => outcomes, stderr: () => stderr };
  runs.push(run);
  let buf = '';
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) =>
      reject(new Error(`jobctl run exited (${code ?? signal}) before ready: ${stderr}`)),
    );
    child.stdout!.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{"type":"outcome"')) outcomes++;
        const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
        if (m) printed[m[1]!] = m[2]!;
        if (line === 'JOBCTL_READY=1') resolve(run);
      }
    });
  });
}

/** Requests received and not yet deleted, as the embedded queue's journal has them. */
function inFlightOnDisk(): number {
  const requests = replayJournal(join(dataDir, JOURNAL_FILE)).image.get('jobctl-local-requests');
  return [...(requests?.msgs.values() ?? [])].filter((m) => (m.v ?? 0) > Date.now()).length;
}

const client = (printed: Record<string, string>) => createSqsClient(printed, { maxAttempts: 1 });

/** Transitions across the three providers: mostly unknown jobs (rejected), some real priority updates. */
function transition(i: number) {
  const id = `restart/${i}`;
  const priority = { action: 'UpdateJobPriority', priority: 100 + i };
  const ready = { action: 'UpdateJobStatus', requestedJobStatus: 'Ready' };
  const real = i % 10 === 0;
  switch (i % 3) {
    case 0:
      return {
        id,
        provider: 'cos',
        region: EXAMPLE_TARGETS.cos.region,
        account: EXAMPLE_TARGETS.cos.account,
        appId: EXAMPLE_TARGETS.cos.appId,
        jobId: real ? '1b32c606-bde3-4cd8-85cc-357b9a4ac9ce' : `restart-${i}`,
        ...(real ? priority : ready),
      };
    case 1:
      return {
        id,
        provider: 'oss',
        region: EXAMPLE_TARGETS.oss.region,
        jobId: real ? 'ZmE5OGZkN2IwM2M1YjU5ZGRmYjIxNDVmNWZmODM2ZDk=' : `restart-${i}`,
        ...(real ? priority : ready),
      };
    default:
      return {
        id,
        provider: 's3',
        region: 'us-east-1',
        account: EXAMPLE_TARGETS.s3.account,
        jobId: real ? 'b0eb09aa-3149-4b0a-ba0d-57d7ae700fae' : `restart-${i}`,
        ...(real ? priority : ready),
      };
  }
}

/** Send these transitions in batches of ten; returns those whose send was acknowledged. */
async function sendTransitions(
  sqs: SQSClient,
  queueUrl: string,
  indices: number[],
  o: { stop?: () => boolean; onAck?: (acked: number) => void } = {},
): Promise<number[]> {
  const acked: number[] = [];
  for (let start = 0; start < indices.length && !o.stop?.(); start += 10) {
    const idx = indices.slice(start, start + 10);
    try {
      const r = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: idx.map((i) => ({ Id: String(i), MessageBody: JSON.stringify(transition(i)) })),
        }),
      );
      for (const ok of r.Successful ?? []) acked.push(Number(ok.Id));
      o.onAck?.(acked.length);
    } catch {
      // Cut off by the kill: not acknowledged, so the sender still owns it and re-sends it.
    }
  }
  return acked;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('jobctl run --data-dir, killed with SIGKILL mid-batch and restarted', () => {
  it('loses no transition: every acknowledged one gets an outcome', async () => {
    // ── first run: a wave of transitions, then a kill while batches are in flight and sends arrive
    const first = await startRun();
    let sqs = client(first.printed);
    const acked = new Set(
      await sendTransitions(sqs, first.printed.REQUESTS_QUEUE_URL!, range(0, FIRST_WAVE)),
    );
    expect(acked.size).toBe(FIRST_WAVE);
    while (first.outcomes() < 100) await once(first.child.stdout!, 'data');
    // Mid-batch: wait until the queue's own file shows messages received and not yet deleted.
    for (let i = 0; i < 500 && inFlightOnDisk() === 0; i++) await new Promise((r) => setTimeout(r, 20));

    // Then more sends, and the kill right after the third of them is acknowledged.
    let killed = false;
    const secondWave = sendTransitions(sqs, first.printed.REQUESTS_QUEUE_URL!, range(FIRST_WAVE, TOTAL), {
      stop: () => killed,
      onAck: (n) => {
        if (n >= 30 && !killed) {
          killed = first.child.kill('SIGKILL');
        }
      },
    });
    const [, signal] = await once(first.child, 'exit');
    expect(signal).toBe('SIGKILL');
    for (const i of await secondWave) acked.add(i);
    const handledBeforeKill = first.outcomes();
    const inFlightAtKill = inFlightOnDisk();
    // The kill came mid-way: not everything was handled (otherwise the test would prove nothing).
    expect(handledBeforeKill).toBeLessThan(acked.size);

    // ── second run on the same directory: new ports, same queues
    const second = await startRun();
    // It says what it found: the requests queue held at least what was in flight at the kill.
    expect(second.stderr()).toMatch(
      /jobctl run: queue restored \d+ message\(s\) in 3 queue\(s\) \(.*jobctl-local-requests \d+/,
    );
    sqs = client(second.printed);
    const resend = range(0, TOTAL).filter((i) => !acked.has(i));
    const resent = await sendTransitions(sqs, second.printed.REQUESTS_QUEUE_URL!, resend);
    expect(resent.sort((a, b) => a - b)).toEqual(resend);

    // ── every transition has an outcome on the results queue (read and deleted as a consumer would)
    const seen = new Map<string, Outcome[]>();
    const results = second.printed.RESULTS_QUEUE_URL!;
    // Bounded: in-flight messages return after VISIBILITY_S; the loop ends long after that.
    for (let polls = 0; seen.size < TOTAL && polls < 6 * VISIBILITY_S + 60; polls++) {
      const r = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: results, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const m of r.Messages ?? []) {
        const o = JSON.parse(m.Body!) as Outcome;
        seen.set(o.id, [...(seen.get(o.id) ?? []), o]);
      }
      if (r.Messages?.length)
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: results,
            Entries: r.Messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
    }
    const missing = range(0, TOTAL)
      .map((i) => `restart/${i}`)
      .filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
    const kinds = new Set([...seen.values()].flat().map((o) => o.outcome));
    expect([...kinds].filter((k) => !['applied', 'unchanged', 'rejected', 'superseded'].includes(k))).toEqual(
      [],
    );
    // Superseded only where several transitions change one real job's priority: a redelivered older
    // one meeting a newer one already applied, which it names.
    for (const o of [...seen.values()].flat().filter((x) => x.outcome === 'superseded')) {
      expect(Number(o.id.split('/')[1]) % 10, o.id).toBe(0);
      expect(o.error?.message).toMatch(/superseded by the newer transition restart\/\d+/);
    }
    // Only what was received and not yet deleted at the kill is handled twice: the deletes
    // acknowledged before it stayed deleted.
    const duplicates = [...seen.values()].filter((os) => os.length > 1).length;
    expect(duplicates).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    console.log(
      `restart: ${handledBeforeKill} outcome(s) before the kill, ${inFlightAtKill} message(s) in flight, ` +
        `${resend.length} send(s) not acknowledged before it and sent after, ` +
        `${TOTAL} of ${TOTAL} ids with an outcome after the restart, ${duplicates} with duplicates`,
    );

    second.child.kill('SIGINT');
    const [code] = await once(second.child, 'exit');
    expect(code).toBe(0);
  }, 180_000);
});

/** `jobctl run` as the README starts it, on fixed ports; resolves once ready. */
function startTour(args: string[]): Promise<{ child: ChildProcess; stderr: () => string }> {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (/^(REQUESTS_|RESULTS_|COS_|OSS_|TENCENTCLOUD_|ALIBABA_|AWS_)/.test(k)) delete env[k];
  const child = spawn(process.execPath, ['bin/jobctl.mjs', 'run', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`jobctl run exited ${code} before ready: ${stderr}`)));
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('JOBCTL_READY=1\n')) resolve({ child, stderr: () => stderr });
    });
  });
}

/** The KEY='value' lines of an --export-file, as `set -a; . FILE` would read them. */
function readExports(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replaceAll("'\\''", "'");
  }
  return out;
}

describe('the restart story (issue 13.4/13.5): start, export, stop, start again', () => {
  it('the settings exported before the restart still work, and queued results survive it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobctl-tour-'));
    const runs: ChildProcess[] = [];
    try {
      const [queuePort, sandboxPort, dynamoPort] = [await freePort(), await freePort(), await freePort()];
      const args = [
        '--queue-port',
        String(queuePort),
        '--sandbox-port',
        String(sandboxPort),
        '--dynamodb-port',
        String(dynamoPort),
        '--data-dir',
        join(dir, 'data'),
        '--export-file',
        join(dir, 'env'),
        '--no-schedules',
        '--batching-window-ms',
        '100',
      ];
      const first = await startTour(args);
      runs.push(first.child);
      const exported = readExports(join(dir, 'env'));
      expect(exported.REQUESTS_QUEUE_URL).toBe(
        `http://127.0.0.1:${queuePort}/000000000000/jobctl-local-requests`,
      );

      // A plain SDK client, configured only by what was exported: no endpoint override.
      const plain = () =>
        new SQSClient({
          region: exported.AWS_REGION!,
          credentials: {
            accessKeyId: exported.AWS_ACCESS_KEY_ID!,
            secretAccessKey: exported.AWS_SECRET_ACCESS_KEY!,
          },
        });
      const transition = (id: string, jobId: string) =>
        JSON.stringify({
          id,
          provider: 'cos',
          region: EXAMPLE_TARGETS.cos.region,
          account: EXAMPLE_TARGETS.cos.account,
          appId: EXAMPLE_TARGETS.cos.appId,
          jobId,
          action: 'UpdateJobPriority',
          priority: 7,
        });
      let sqs = plain();
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: exported.REQUESTS_QUEUE_URL,
          MessageBody: transition('tour/before', '53dc6228-c50b-46f7-8ad7-65e7159f1aae'),
        }),
      );
      // Its outcome reaches the results queue; it is left there, unread, across the restart.
      for (let i = 0; i < 100 && !/applied 1/.test(first.stderr()); i++) {
        const r = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: exported.RESULTS_QUEUE_URL,
            AttributeNames: ['All'],
            VisibilityTimeout: 0,
            WaitTimeSeconds: 1,
          }),
        );
        if (r.Messages?.length) break;
      }
      sqs.destroy();

      first.child.kill('SIGINT');
      const [code] = await once(first.child, 'exit');
      expect(code).toBe(0);
      expect(first.stderr()).toMatch(/kept \d+ queued request\(s\), [1-9]\d* result\(s\)/);

      const second = await startTour(args);
      runs.push(second.child);
      sqs = plain();
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: exported.REQUESTS_QUEUE_URL,
          MessageBody: transition('tour/after', '53dc6228-c50b-46f7-8ad7-65e7159f1aae'),
        }),
      );
      const ids = new Set<string>();
      for (let polls = 0; polls < 30 && ids.size < 2; polls++) {
        const r = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: exported.RESULTS_QUEUE_URL,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        for (const m of r.Messages ?? []) ids.add((JSON.parse(m.Body!) as Outcome).id);
      }
      sqs.destroy();
      expect([...ids].sort()).toEqual(['tour/after', 'tour/before']);
      second.child.kill('SIGINT');
      expect((await once(second.child, 'exit'))[0]).toBe(0);
    } finally {
      for (const c of runs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
