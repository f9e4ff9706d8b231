/**
 * `jobctl run`: the deployed stack on one machine. The real handlers from functions/ are invoked
 * exactly as Lambda would invoke them: the requests queue through an event source mapping, the
 * schedules of serverless.yml at their fire times. With nothing configured it brings its own
 * queue (fauxqs on 127.0.0.1) and provider (the sandbox), so `npm start` works on a fresh machine.
 */
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { lambdaContext, startEventSourceMapping } from '../../esm';
import type { Observer } from '../../observe';
import type { OutcomeKind } from '../../outcome';
import { OUTCOME_KINDS } from '../../outcome';
import { createQueueSet, startEmbeddedQueue } from '../../queues/embedded';
import { describeRestore } from '../../queues/persist';
import type { FanoutReport } from '../../queues/publisher';
import { createSqsClient } from '../../queues/sqs';
import { createRuntime, useRuntime } from '../../runtime';
import type { ScheduleEvent } from '../../scheduled';
import { type Command, type Io, parseOptions, UsageError, writeLine } from '../command';

const HELP = `
usage: jobctl run [options]

The controller on one machine: consumes the requests queue like Lambda's event source mapping
(invoking functions/transitions.ts), fires the enabled schedules of serverless.yml in their time
zones (invoking functions/schedule.ts), and publishes outcomes to the results queue.

  With no REQUESTS_QUEUE_URL, it starts an embedded SQS-compatible queue on 127.0.0.1 and creates
  the requests queue (with its DLQ and redrive policy) and the results queue.
  With no provider configured (no COS_ENDPOINT, OSS_ENDPOINT, AWS_ENDPOINT_URL_S3_CONTROL,
  TENCENTCLOUD_SECRETID or ALIBABA_CLOUD_ACCESS_KEY_ID), it starts the sandbox provider seeded
  from events/sandbox-jobs.json.

When ready it prints KEY=value lines (queue URLs, endpoints, sandbox credentials) for another
terminal to export, then JOBCTL_READY=1. Ctrl-C stops it: in-flight batches finish (or, after
--grace-ms, return to the queue after their visibility timeout).

options:
  --file PATH              serverless.yml to read schedules from (default ./serverless.yml)
  --all-schedules          fire schedules declared disabled too
  --no-schedules           fire no schedules
  --sandbox / --no-sandbox force the sandbox on or off
  --data-dir DIR           keep the embedded queue's messages and the sandbox's jobs under DIR
                           across restarts (even a kill -9 loses no accepted message)
  --batch-size N           records per invocation, 1–10 (default 10)
  --batching-window-ms N   gather records this long (default 500; the stack uses 5 s, which
                           would make an interactive session feel slow)
  --max-concurrency N      concurrent invocations (default 5, as the stack's maximumConcurrency)
  --function-timeout-s N   the handler's timeout (default 60, as deployed)
  --visibility-timeout-s N the embedded requests queue's visibility timeout (default 420, as
                           deployed: 6 × the function timeout + the batching window)
  --max-receive-count N    the embedded requests queue's redrive threshold (default 5)
  --fifo                   make the embedded requests queue a FIFO queue
  --json-log               one JSON line per outcome / fan-out / invocation on stdout instead
                           of the live view
  --export-file FILE       also write the KEY=value lines to FILE (mode 600), for another
                           terminal: set -a; . FILE; set +a
  --seed FILE              the sandbox's jobs (default events/sandbox-jobs.json)
  --sandbox-latency-ms N   the sandbox's added latency per request (default 0)
  --grace-ms N             on Ctrl-C, wait this long for in-flight batches (default 5000)

exit codes: 0 stopped cleanly, 1 could not start, 2 bad options
`;

export const command: Command = { name: 'run', summary: 'the controller on one machine', help: HELP, run };

type Counts = Record<OutcomeKind, number>;

async function run(argv: string[], io: Io): Promise<number> {
  const { values: o } = parseOptions(argv, {
    file: { type: 'string' },
    'all-schedules': { type: 'boolean' },
    'no-schedules': { type: 'boolean' },
    sandbox: { type: 'boolean' },
    'no-sandbox': { type: 'boolean' },
    'data-dir': { type: 'string' },
    'batch-size': { type: 'string' },
    'batching-window-ms': { type: 'string' },
    'max-concurrency': { type: 'string' },
    'function-timeout-s': { type: 'string' },
    'visibility-timeout-s': { type: 'string' },
    'max-receive-count': { type: 'string' },
    fifo: { type: 'boolean' },
    'json-log': { type: 'boolean' },
    'sandbox-latency-ms': { type: 'string' },
    'grace-ms': { type: 'string' },
    seed: { type: 'string' },
    'export-file': { type: 'string' },
  });
  const num = (name: string, v: string | undefined, def: number, min: number, max: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const batchSize = num('batch-size', o['batch-size'], 10, 1, 10);
  const windowMs = num('batching-window-ms', o['batching-window-ms'], 500, 0, 300_000);
  const maxConcurrency = num('max-concurrency', o['max-concurrency'], 5, 1, 50);
  const functionTimeoutMs = num('function-timeout-s', o['function-timeout-s'], 60, 1, 900) * 1000;
  const visibility = num('visibility-timeout-s', o['visibility-timeout-s'], 420, 0, 43_200);
  const maxReceiveCount = num('max-receive-count', o['max-receive-count'], 5, 1, 1000);
  const graceMs = num('grace-ms', o['grace-ms'], 5_000, 0, 900_000);
  const latencyMs = num('sandbox-latency-ms', o['sandbox-latency-ms'], 0, 0, 60_000);
  const jsonLog = o['json-log'] === true;

  // Everything the handlers read comes from this environment, as on Lambda.
  const env: NodeJS.ProcessEnv = { ...io.env };
  const printed: [string, string][] = [];
  const closers: (() => Promise<unknown>)[] = [];
  const log = (line: string) => {
    if (!jsonLog) writeLine(io.stderr, line);
  };

  try {
    const wantSandbox =
      o.sandbox === true ||
      (o['no-sandbox'] !== true &&
        ![
          'COS_ENDPOINT',
          'OSS_ENDPOINT',
          'AWS_ENDPOINT_URL_S3_CONTROL',
          'TENCENTCLOUD_SECRETID',
          'ALIBABA_CLOUD_ACCESS_KEY_ID',
        ].some((k) => env[k]));
    if (wantSandbox) {
      const { startSandbox } = await import('../../sandbox/server');
      const seed = path.resolve(o.seed ?? 'events/sandbox-jobs.json');
      const sb = await startSandbox({
        seed,
        dataDir: o['data-dir'],
        faults: latencyMs ? { latencyMs } : undefined,
      });
      closers.unshift(() => sb.close());
      for (const [k, v] of Object.entries(sb.env)) {
        env[k] = v;
        printed.push([k, v]);
      }
    }

    let sqs: SQSClient;
    if (!env.REQUESTS_QUEUE_URL) {
      const queue = await startEmbeddedQueue({
        region: env.AWS_REGION || 'us-east-1',
        dataDir: o['data-dir'],
      });
      closers.push(() => queue.stop());
      if (queue.restored) writeLine(io.stderr, `jobctl run: queue ${describeRestore(queue.restored)}`);
      env.AWS_ENDPOINT_URL_SQS = queue.endpoint;
      env.AWS_REGION ||= 'us-east-1';
      // fauxqs accepts any signature, but the SDK insists on signing with something.
      env.AWS_ACCESS_KEY_ID ||= 'local';
      env.AWS_SECRET_ACCESS_KEY ||= 'local';
      sqs = createSqsClient(env);
      const set = await createQueueSet(sqs, {
        prefix: 'jobctl-local',
        fifo: o.fifo === true,
        maxReceiveCount,
        visibilityTimeoutSeconds: visibility,
      });
      Object.assign(env, {
        REQUESTS_QUEUE_URL: set.requestsQueueUrl,
        RESULTS_QUEUE_URL: set.resultsQueueUrl,
      });
      printed.push(
        ['AWS_ENDPOINT_URL_SQS', queue.endpoint],
        ['AWS_REGION', env.AWS_REGION],
        ['REQUESTS_QUEUE_URL', set.requestsQueueUrl],
        ['RESULTS_QUEUE_URL', set.resultsQueueUrl],
        ['DLQ_URL', set.dlqUrl],
      );
      if (!printed.some(([k]) => k === 'AWS_ACCESS_KEY_ID'))
        printed.push(
          ['AWS_ACCESS_KEY_ID', env.AWS_ACCESS_KEY_ID],
          ['AWS_SECRET_ACCESS_KEY', env.AWS_SECRET_ACCESS_KEY],
        );
    } else {
      sqs = createSqsClient(env);
    }
    if (!env.RESULTS_QUEUE_URL) throw new Error('REQUESTS_QUEUE_URL is set but RESULTS_QUEUE_URL is not');

    const counts = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Counts;
    let fanouts = 0;
    const emit = (record: object) => {
      if (jsonLog) writeLine(io.stdout, JSON.stringify(record));
    };
    const runtime = createRuntime(env, { sqs, observer: localObserver(counts, emit, () => fanouts++) });
    useRuntime(runtime);

    const [{ handler: transitions }, { handler: schedule }] = await Promise.all([
      import('../../../functions/transitions'),
      import('../../../functions/schedule'),
    ]);

    // Schedules: the same declarations the deployed stack gets.
    const file = path.resolve(o.file ?? 'serverless.yml');
    const timers = o['no-schedules']
      ? []
      : await scheduleAll(file, o['all-schedules'] === true, schedule, functionTimeoutMs, log, emit);
    closers.unshift(async () => {
      for (const t of timers) t.stop();
    });

    for (const [k, v] of printed) writeLine(io.stdout, `${k}=${v}`);
    if (o['export-file']) await writeEnvFile(o['export-file'], printed);
    writeLine(io.stdout, 'JOBCTL_READY=1');

    const esm = startEventSourceMapping({
      sqs,
      queueUrl: env.REQUESTS_QUEUE_URL!,
      handler: (event: SQSEvent, context: Context) => transitions(event, context),
      batchSize,
      batchingWindowMs: windowMs,
      functionTimeoutMs,
      maxConcurrency,
      region: env.AWS_REGION,
      onInvoke: (r) => emit({ type: 'invocation', ...r }),
      onError: (e) => log(`jobctl run: ${(e as Error).message}`),
    });

    const view =
      !jsonLog && io.stderr.isTTY ? liveView(io, sqs, env, counts, () => esm.inFlight, timers) : undefined;
    log(
      `jobctl run: consuming ${env.REQUESTS_QUEUE_URL}; ${timers.length} schedule(s) active. Ctrl-C to stop.`,
    );

    await io.interrupted;
    view?.stop();
    log('jobctl run: stopping: finishing in-flight batches…');
    const stopped = await Promise.race([
      esm.stop().then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref()),
    ]);
    if (!stopped)
      log(
        `jobctl run: ${esm.inFlight} record(s) still in flight after ${graceMs} ms; they return to the queue.`,
      );
    log(`jobctl run: stopped. ${summary(counts)}${fanouts ? `, ${fanouts} fan-out(s)` : ''}`);
    return 0;
  } finally {
    for (const close of closers) await close().catch(() => undefined);
  }
}

/** The observer `jobctl run` installs: counts for the live view, JSON lines with --json-log. */
function localObserver(counts: Counts, emit: (r: object) => void, onFanout: () => void): Observer {
  return {
    // Locally the live view and --json-log speak; the handlers' Powertools lines would only interleave.
    logger: new Logger({ serviceName: 'jobctl', logLevel: 'SILENT' }),
    outcome(o) {
      counts[o.outcome]++;
      emit({ type: 'outcome', ...o });
    },
    fanout(r: FanoutReport) {
      onFanout();
      emit(r);
    },
    flush: () => undefined,
  };
}

interface ScheduleTimer {
  name: string;
  timezone: string;
  next: Date | null;
  stop(): void;
}

async function scheduleAll(
  file: string,
  includeDisabled: boolean,
  handler: (event: ScheduleEvent, context: Context) => Promise<unknown>,
  timeoutMs: number,
  log: (s: string) => void,
  emit: (r: object) => void,
): Promise<ScheduleTimer[]> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(file)) return [];
  const [{ loadSchedules, eventAt }, { parseScheduleExpression }] = await Promise.all([
    import('../../schedules/serverless'),
    import('../../schedules/cron'),
  ]);
  const timers: ScheduleTimer[] = [];
  for (const s of await loadSchedules(file)) {
    if (!s.enabled && !includeDisabled) continue;
    const expr = parseScheduleExpression(s.expression, s.timezone ?? 'UTC', { start: new Date() });
    const t: ScheduleTimer = {
      name: s.name,
      timezone: s.timezone ?? 'UTC',
      next: null,
      stop: () => clearTimeout(timer),
    };
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      t.next = expr.next(new Date());
      if (!t.next) return;
      // setTimeout holds at most ~24.8 days; re-arm until the fire time is within reach.
      const wait = Math.min(t.next.getTime() - Date.now(), 2 ** 31 - 1);
      timer = setTimeout(
        () => {
          if (t.next && Date.now() < t.next.getTime()) return arm();
          const fireTime = t.next!.toISOString();
          // The input as EventBridge Scheduler delivers it: its <aws.scheduler.*> placeholders filled.
          const input = eventAt(s, t.next!) as ScheduleEvent;
          handler(input, lambdaContext(s.function ?? 'schedule', Date.now() + timeoutMs, timeoutMs))
            .then((r) => emit({ type: 'schedule', schedule: s.name, fireTime, result: r }))
            .catch((e) => log(`jobctl run: schedule ${s.name} failed: ${(e as Error).message}`))
            .finally(arm);
        },
        Math.max(0, wait),
      );
      timer.unref();
    };
    arm();
    timers.push(t);
  }
  return timers;
}

/** The printed lines as a shell-sourceable file; only the owner may read the sandbox keys in it. */
async function writeEnvFile(file: string, lines: [string, string][]): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  await writeFile(file, lines.map(([k, v]) => `${k}=${quote(v)}\n`).join(''), { mode: 0o600 });
}

const summary = (c: Counts) => OUTCOME_KINDS.map((k) => `${k} ${c[k]}`).join(' · ');

/** The compact live view on a terminal: redrawn in place once a second. */
function liveView(
  io: Io,
  sqs: SQSClient,
  env: NodeJS.ProcessEnv,
  counts: Counts,
  inFlight: () => number,
  timers: ScheduleTimer[],
) {
  let lines = 0;
  let busy = false;
  const depth = async (url: string | undefined) => {
    if (!url) return '-';
    try {
      const r = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return r.Attributes?.ApproximateNumberOfMessages ?? '?';
    } catch {
      return '?';
    }
  };
  const draw = async () => {
    if (busy) return;
    busy = true;
    const [req, res] = await Promise.all([depth(env.REQUESTS_QUEUE_URL), depth(env.RESULTS_QUEUE_URL)]);
    const next = timers
      .filter((t) => t.next)
      .sort((a, b) => a.next!.getTime() - b.next!.getTime())
      .slice(0, 3)
      .map((t) => `${t.name} ${t.next!.toISOString().slice(0, 16).replace('T', ' ')}Z`);
    const out = [
      `queue  requests ${req} · in flight ${inFlight()} · results ${res}`,
      `done   ${summary(counts)}`,
      `next   ${next.length ? next.join(' · ') : 'no schedules enabled'}`,
    ];
    // A wrapped line would throw the cursor arithmetic off: clip to the terminal's width.
    const width = Math.max(20, ((io.stderr as { columns?: number }).columns ?? 80) - 1);
    const clip = (l: string) => (l.length > width ? `${l.slice(0, width - 1)}…` : l);
    io.stderr.write(`${lines ? `\x1b[${lines}A` : ''}${out.map((l) => `\x1b[2K${clip(l)}`).join('\n')}\n`);
    lines = out.length;
    busy = false;
  };
  const timer = setInterval(() => void draw(), 1000);
  void draw();
  return { stop: () => clearInterval(timer) };
}
