/**
 * Issue 16: the planner alone over 100,000 jobs (≤ 1 s, ≤ 200 MB peak RSS, in a child process of
 * its own: bench/plan-planner.ts), and one reconcile tick over 10,000 sandbox jobs on 3 targets
 * under 5 policies against the bare ListJobs sweep of the same jobs in the same run (≤ 1.3×).
 */

import { execFile } from 'node:child_process';
import path from 'node:path';
import { parseAllowlist } from '../lib/core/allowlist';
import { parsePolicies } from '../lib/core/policies';
import { DEFAULT_RETRY } from '../lib/core/retry';
import { createPublisher } from '../lib/lambda/publisher';
import { reconcileTick } from '../lib/lambda/reconcile';
import { createSqsClient, sendAll } from '../lib/lambda/sqs';
import { lambdaContext } from '../lib/local/event-source-mapping';
import { createQueueSet, startEmbeddedQueue } from '../lib/local/queue/embedded';
import { generateJobs } from '../lib/local/sandbox/seed';
import { startSandbox } from '../lib/local/sandbox/server';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import { providersFromEnv } from '../lib/providers/index';
import type { Target } from '../lib/providers/types';
import { type Benchmark, interleave, ratios, round, row, spread } from './measure';
import { TARGETS } from './targets';

const ROOT = path.resolve(import.meta.dirname, '..');
const CHILD_LIMIT_MS = 120_000;

function plannerChild(n: number): Promise<{ ms: number; peakRssMb: number; actions: number; holds: number }> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['bin/run-ts.mjs', 'bench/plan-planner.ts', String(n), '1'],
      { cwd: ROOT, timeout: CHILD_LIMIT_MS },
      (e, stdout, stderr) => {
        if (e) return reject(new Error(`${e.message}\n${stderr}`));
        const r = JSON.parse(stdout.trim()) as {
          ms: number[];
          peakRssMb: number;
          actions: number;
          holds: number;
        };
        resolve({ ms: r.ms[0]!, peakRssMb: r.peakRssMb, actions: r.actions, holds: r.holds });
      },
    ),
  );
}

/** 5 policies over the 3 example targets, windows always open, caps so a tick enqueues tens, not thousands. */
const T = EXAMPLE_TARGETS;
const POLICIES = `policies:
  - name: cos-nightly
    target: { provider: cos, region: ${T.cos.region}, account: '${T.cos.account}', appId: '${T.cos.appId}' }
    match: { descriptionPrefix: nightly-bench-0 }
    confirm: always
    maxActive: 10
    priority: { open: 10 }
  - name: cos-rest
    target: { provider: cos, region: ${T.cos.region}, account: '${T.cos.account}', appId: '${T.cos.appId}' }
    match: { descriptionPrefix: nightly-bench- }
    window: { timezone: Asia/Shanghai, start: '01:00', end: '06:00' }
    maxActive: 10
    cancel: { suspendedLongerThanMinutes: 525600 }
  - name: oss-nightly
    target: { provider: oss, region: ${T.oss.region} }
    match: { descriptionPrefix: nightly-bench- }
    confirm: always
    maxActive: 10
  - name: s3-report
    mode: report
    target: { provider: s3, region: ${T.s3.region}, account: '${T.s3.account}' }
    match: { descriptionPrefix: nightly-bench-0 }
    confirm: always
    maxActive: 10
  - name: s3-rest
    target: { provider: s3, region: ${T.s3.region}, account: '${T.s3.account}' }
    match: { descriptionPrefix: nightly-bench- }
    confirm: never
`;

export const planBench: Benchmark = {
  name: 'plan',
  summary:
    'the planner over 100,000 jobs (time, peak RSS); a reconcile tick over 10,000 sandbox jobs vs the bare ListJobs sweep',
  async run({ quick, log }) {
    const repeats = quick ? 1 : 3;
    const planner: Awaited<ReturnType<typeof plannerChild>>[] = [];
    for (let r = 0; r < repeats; r++) {
      const c = await plannerChild(100_000);
      log(`plan: planner over 100,000 jobs in ${round(c.ms, 0)} ms, peak RSS ${round(c.peakRssMb, 0)} MB`);
      planner.push(c);
    }

    const per = Math.ceil(10_000 / 3);
    const seed = (Object.keys(TARGETS) as (keyof typeof TARGETS)[]).flatMap((p, i) =>
      generateJobs(i === 2 ? 10_000 - 2 * per : per, { ...TARGETS[p], seed: i + 1 }),
    );
    const sb = await startSandbox({ seed, pace: false });
    const queue = await startEmbeddedQueue();
    try {
      const env: NodeJS.ProcessEnv = {
        ...sb.env,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_SQS: queue.endpoint,
      };
      const sqs = createSqsClient(env);
      const queues = await createQueueSet(sqs, { prefix: `bench-plan-${process.pid}` });
      const providers = providersFromEnv(env, DEFAULT_RETRY.callTimeoutMs);
      const parsed = parsePolicies(POLICIES);
      if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
      const policies = parsed.policies;
      const targets: Target[] = [
        ...new Map(policies.map((p) => [JSON.stringify(p.target), p.target])).values(),
      ];
      const deps = {
        providers,
        allowlist: parseAllowlist(undefined),
        retry: DEFAULT_RETRY,
        publisher: createPublisher(sqs, queues.resultsQueueUrl),
        enqueue: (m: Parameters<typeof sendAll>[2], deadline?: number) =>
          sendAll(sqs, queues.requestsQueueUrl, m, { deadline }),
        reserveMs: 2_000,
      };
      let enqueued = 0;
      let listed = 0;
      const samples = await interleave(
        {
          tick: {
            run: async () => {
              const { report } = await reconcileTick(
                policies,
                lambdaContext('reconcile', Date.now() + 120_000, 120_000),
                deps,
              );
              if (report.unlisted.length > 0) throw new Error(`unlisted: ${JSON.stringify(report.unlisted)}`);
              enqueued = report.enqueued;
            },
          },
          sweep: {
            run: async () => {
              let n = 0;
              await Promise.all(
                targets.map(async (t) => {
                  const p = await providers.get(t.provider);
                  let nextToken: string | undefined;
                  do {
                    const page = await p.list(t, { maxResults: 1000, nextToken });
                    n += page.jobs.length;
                    nextToken = page.nextToken ?? undefined;
                  } while (nextToken);
                }),
              );
              listed = n;
            },
          },
        },
        repeats + 1,
      );
      // The first of each side warms connections and code: dropped.
      const tick = samples.tick.slice(1);
      const sweep = samples.sweep.slice(1);
      log(
        `plan: tick ${tick.map((x) => round(x, 0)).join('/')} ms vs sweep ${sweep.map((x) => round(x, 0)).join('/')} ms; ${listed} jobs listed, ${enqueued} enqueued per tick`,
      );
      providers.close();
      sqs.destroy();
      const detail = {
        repeats,
        plannerMs: planner.map((c) => round(c.ms, 0)),
        plannerPeakRssMb: planner.map((c) => round(c.peakRssMb, 0)),
        plannerActions: planner[0]?.actions,
        plannerHolds: planner[0]?.holds,
        tickMs: tick.map((x) => round(x, 0)),
        sweepMs: sweep.map((x) => round(x, 0)),
        jobs: listed,
        enqueuedPerTick: enqueued,
      };
      return [
        row({
          id: 'plan.planner-100k',
          measure: 'the planner alone over 100,000 jobs, 5 policies, 3 targets',
          baseline: '—',
          unit: 's',
          value: spread(planner.map((c) => c.ms / 1000)),
          target: { op: '<=', value: 1 },
          detail,
        }),
        row({
          id: 'plan.planner-rss',
          measure: 'peak RSS of a process planning 100,000 jobs (input, node and the tsx loader included)',
          baseline: '—',
          unit: 'MB',
          value: spread(planner.map((c) => c.peakRssMb)),
          target: { op: '<=', value: 200 },
          detail,
        }),
        row({
          id: 'plan.tick-vs-sweep',
          measure: 'one reconcile tick over 10,000 sandbox jobs, 3 targets, 5 policies',
          baseline: 'the bare ListJobs sweep of the same jobs',
          unit: '×',
          value: spread(ratios(tick, sweep)),
          target: { op: '<=', value: 1.3 },
          detail,
        }),
      ];
    } finally {
      await sb.close();
      await queue.stop();
    }
  },
};
