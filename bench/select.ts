/**
 * A `select` over N sandbox jobs through `jobctl run` as a child process, end to end: the
 * sandbox is seeded with a generated N-job file (`--seed`), one select message goes onto the
 * requests queue (@aws-sdk/client-sqs), and the clock stops when the N-th outcome is printed
 * (`--json-log`: one JSON line per outcome, emitted as each is published). 100,000 jobs against
 * 10,000 (issue 12.5: a select streams page by page, so its cost is linear and its memory flat):
 * ratio ≤ 10.5; the child's peak RSS (VmHWM) ≤ 400 MB during the 100,000-job select.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { generateJobs } from '../lib/local/sandbox/seed';
import { TARGETS } from './calls';
import { type Benchmark, ratios, round, row, spread } from './measure';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Give up on one run after this long: a stuck run must not hang the benchmark. */
const RUN_LIMIT_MS = 300_000;

const SMALL = 10_000;
const LARGE = 100_000;

export interface SelectRun {
  jobs: number;
  /** From sending the select message to the N-th outcome line. */
  ms: number;
  /** From spawning `jobctl run` to JOBCTL_READY=1. */
  startMs: number;
  peakRssMb: number;
  outcomes: Record<string, number>;
}

async function seedFile(dir: string, n: number): Promise<string> {
  const file = path.join(dir, `jobs-${n}.json`);
  const { appId, account, region } = TARGETS.cos;
  await writeFile(
    file,
    JSON.stringify({ jobs: generateJobs(n, { provider: 'cos', appId, account, region }) }),
  );
  return file;
}

/** VmHWM of a live process, in MB (Linux); NaN where /proc is not there. */
async function peakRssMb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return kb ? Number(kb[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGINT');
  });
}

export async function selectRun(seed: string, n: number): Promise<SelectRun> {
  const started = performance.now();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const child = spawn(
    process.execPath,
    [
      'bin/jobctl.mjs',
      'run',
      '--seed',
      seed,
      '--no-schedules',
      '--json-log',
      '--ephemeral',
      '--queue-port',
      '0',
      '--sandbox-port',
      '0',
    ],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString();
  });
  const vars: Record<string, string> = {};
  const outcomes: Record<string, number> = {};
  let count = 0;
  let sentAt = 0;
  let sqs: SQSClient | undefined;
  try {
    return await new Promise<SelectRun>((resolve, reject) => {
      const limit = setTimeout(
        () =>
          reject(
            new Error(`select over ${n}: ${count} outcomes after ${RUN_LIMIT_MS} ms; stderr: ${stderr}`),
          ),
        RUN_LIMIT_MS,
      );
      child.once('exit', (code) => {
        clearTimeout(limit);
        reject(new Error(`jobctl run exited (${code}) after ${count} outcomes; stderr: ${stderr}`));
      });
      const lines = createInterface({ input: child.stdout! });
      let startMs = 0;
      lines.on('line', (line) => {
        if (sentAt === 0) {
          const eq = line.indexOf('=');
          if (line === 'JOBCTL_READY=1') {
            startMs = performance.now() - started;
            sqs = new SQSClient({
              region: vars.AWS_REGION ?? 'us-east-1',
              endpoint: vars.AWS_ENDPOINT_URL_SQS!,
              credentials: {
                accessKeyId: vars.AWS_ACCESS_KEY_ID!,
                secretAccessKey: vars.AWS_SECRET_ACCESS_KEY!,
              },
            });
            sentAt = performance.now();
            sqs
              .send(
                new SendMessageCommand({
                  QueueUrl: vars.REQUESTS_QUEUE_URL!,
                  MessageBody: JSON.stringify({
                    ...TARGETS.cos,
                    id: `bench-select-${n}`,
                    select: { statuses: ['Suspended'], descriptionPrefix: 'nightly-bench-', max: n },
                    action: 'UpdateJobStatus',
                    requestedJobStatus: 'Ready',
                  }),
                }),
              )
              .catch(reject);
          } else if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1);
          return;
        }
        if (!line.startsWith('{"type":"outcome"')) return;
        const kind = /"outcome":"([a-z]+)"/.exec(line)?.[1] ?? '?';
        outcomes[kind] = (outcomes[kind] ?? 0) + 1;
        if (++count === n) {
          const ms = performance.now() - sentAt;
          clearTimeout(limit);
          void peakRssMb(child.pid!).then((peak) =>
            resolve({ jobs: n, ms, startMs, peakRssMb: peak, outcomes }),
          );
        }
      });
    });
  } finally {
    sqs?.destroy();
    await stop(child);
  }
}

export const select: Benchmark = {
  name: 'select',
  summary: 'a select over 100,000 sandbox jobs through `jobctl run` (child process) vs over 10,000; peak RSS',
  async run({ quick, log }) {
    const repeats = quick ? 1 : 3;
    const dir = await mkdtemp(path.join(tmpdir(), 'jobctl-select-'));
    try {
      const small = await seedFile(dir, SMALL);
      const large = await seedFile(dir, LARGE);
      const runs: { small: SelectRun[]; large: SelectRun[] } = { small: [], large: [] };
      for (let r = 0; r < repeats; r++) {
        for (const [key, file, n] of r % 2 === 0
          ? ([
              ['small', small, SMALL],
              ['large', large, LARGE],
            ] as const)
          : ([
              ['large', large, LARGE],
              ['small', small, SMALL],
            ] as const)) {
          const run = await selectRun(file, n);
          log(
            `select: ${n} jobs in ${round(run.ms / 1000, 2)} s, peak RSS ${round(run.peakRssMb, 0)} MB, ${JSON.stringify(run.outcomes)}`,
          );
          runs[key].push(run);
        }
      }
      const notApplied = [...runs.small, ...runs.large].filter((r) => r.outcomes.applied !== r.jobs);
      if (notApplied.length > 0)
        throw new Error(`outcomes other than applied: ${JSON.stringify(notApplied[0]!.outcomes)}`);
      const s = (rs: SelectRun[], f: (r: SelectRun) => number) => rs.map(f);
      const detail = {
        repeats,
        seconds: {
          large: round(spread(s(runs.large, (r) => r.ms)).median / 1000, 2),
          small: round(spread(s(runs.small, (r) => r.ms)).median / 1000, 2),
        },
        startupSeconds: round(spread(s([...runs.large, ...runs.small], (r) => r.startMs)).median / 1000, 2),
        peakRssMb: {
          large: round(spread(s(runs.large, (r) => r.peakRssMb)).max, 0),
          small: round(spread(s(runs.small, (r) => r.peakRssMb)).max, 0),
        },
      };
      return [
        row({
          id: 'select.100k-total',
          measure: 'select over 100,000 sandbox jobs through jobctl run: enqueue, process, outcomes',
          baseline: '—',
          unit: 's',
          value: spread(s(runs.large, (r) => r.ms / 1000)),
          // Issue 12.5 measured 102 s before streaming; the figure to hold is the ratio below.
          target: { op: '<=', value: 102 },
          detail,
        }),
        row({
          id: 'select.100k-vs-10k',
          measure: 'select over 100,000 jobs',
          baseline: 'the same over 10,000',
          unit: '×',
          value: spread(
            ratios(
              s(runs.large, (r) => r.ms),
              s(runs.small, (r) => r.ms),
            ),
          ),
          target: { op: '<=', value: 10.5 },
          detail,
        }),
        row({
          id: 'select.peak-rss',
          measure: 'peak RSS of jobctl run during the 100,000-job select',
          baseline: '—',
          unit: 'MB',
          value: spread(s(runs.large, (r) => r.peakRssMb)),
          target: { op: '<=', value: 400 },
          detail,
        }),
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
