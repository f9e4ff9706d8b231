/**
 * `jobctl run`: the deployed stack on one machine. The real handlers from functions/ are invoked
 * exactly as Lambda would invoke them: the requests queue through an event source mapping, the
 * schedules of serverless.yml at their fire times. With nothing configured it brings its own
 * queue (fauxqs on 127.0.0.1) and provider (the sandbox), so `npm start` works on a fresh machine.
 */
import { connect } from 'node:net';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import type { OutcomeKind } from '../../core/outcome';
import { OUTCOME_KINDS } from '../../core/outcome';
import type { Observer } from '../../lambda/observe';
import type { FanoutReport } from '../../lambda/publisher';
import type { RuntimeSource } from '../../lambda/runtime';
import type { ScheduleEvent } from '../../lambda/schedule';
import { lambdaContext, startEventSourceMapping } from '../../local/event-source-mapping';
import { describeRestore } from '../../local/queue/persist';
import {
  LAMBDA_DEFAULTS,
  loadQueueConsumer,
  loadReconcileSchedule,
  type QueueConsumer,
} from '../../local/serverless-yml';
import { startLocalStack } from '../../local/stack';
import { startTicker, type Ticker, tickerLine } from '../../local/ticker';
import { type Command, type Io, writeLine } from '../command';
import { connectionRefused, refusedAt } from '../errors';
import { wallTime } from '../format';
import { type OptionTable, optionsHelp, parseOptions } from '../options';

/** Fixed ports, so the lines another terminal exported stay valid across restarts. */
export const DEFAULT_QUEUE_PORT = 9324;
export const DEFAULT_SANDBOX_PORT = 9325;
export const DEFAULT_DYNAMODB_PORT = 9326;
/** Where local state lives unless --ephemeral: beside the export file the README suggests. */
export const DEFAULT_DATA_DIR = '.jobctl/data';
/** serverless.yml's 5 s batching window would make an interactive session feel slow. */
const INTERACTIVE_WINDOW_MS = 500;

const OPTIONS = {
  file: {
    kind: 'string',
    arg: 'PATH',
    default: 'serverless.yml',
    help: 'serverless.yml to read schedules and queue settings from',
  },
  'all-schedules': {
    kind: 'boolean',
    group: 'schedules',
    help: 'fire schedules declared disabled too (the examples ship disabled)',
  },
  'no-schedules': { kind: 'boolean', group: 'schedules', help: 'fire no schedules' },
  'no-reconcile': {
    kind: 'boolean',
    group: 'schedules',
    help: "never tick the reconciler (functions/reconcile.ts on serverless.yml's period)",
  },
  sandbox: {
    kind: 'boolean',
    group: 'local stack',
    help: 'start the sandbox even when a provider is configured',
  },
  'no-sandbox': { kind: 'boolean', group: 'local stack', help: 'never start the sandbox' },
  'queue-port': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 65_535,
    default: DEFAULT_QUEUE_PORT,
    group: 'local stack',
    help: `the embedded queue's port (default ${DEFAULT_QUEUE_PORT}; 0: any free port). A fixed port\nkeeps exported settings valid across restarts`,
  },
  'sandbox-port': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 65_535,
    default: DEFAULT_SANDBOX_PORT,
    group: 'local stack',
    help: `the sandbox's port (default ${DEFAULT_SANDBOX_PORT}; 0: any free port)`,
  },
  'dynamodb-port': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 65_535,
    default: DEFAULT_DYNAMODB_PORT,
    group: 'local stack',
    help: `the local DynamoDB's port (default ${DEFAULT_DYNAMODB_PORT}; 0: any free port); not started\nwhen JOBCTL_TABLE is set`,
  },
  'data-dir': {
    kind: 'string',
    arg: 'DIR',
    default: DEFAULT_DATA_DIR,
    group: 'local stack',
    help: `keep the embedded queue's messages, the sandbox's jobs and the local table here across restarts\n(default ${DEFAULT_DATA_DIR}; even a kill -9 loses no accepted message)`,
  },
  ephemeral: {
    kind: 'boolean',
    group: 'local stack',
    help: 'keep nothing: queued messages and job changes are discarded on stop',
  },
  seed: {
    kind: 'string',
    arg: 'FILE',
    default: 'events/sandbox-jobs.json',
    group: 'local stack',
    help: "the sandbox's jobs when it starts without saved state",
  },
  'sandbox-latency-ms': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 60_000,
    default: 0,
    group: 'local stack',
    help: "the sandbox's added latency per request",
  },
  fifo: { kind: 'boolean', group: 'local stack', help: 'make the embedded requests queue a FIFO queue' },
  'batch-size': {
    kind: 'integer',
    arg: 'N',
    min: 1,
    max: 10,
    group: 'event source mapping (defaults: serverless.yml)',
    help: 'records per invocation, 1–10 (batchSize)',
  },
  'batching-window-ms': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 300_000,
    group: 'event source mapping (defaults: serverless.yml)',
    help: `gather records this long (maximumBatchingWindow, at most ${INTERACTIVE_WINDOW_MS} ms\nunless given: a 5 s wait would make an interactive session feel slow)`,
  },
  'max-concurrency': {
    kind: 'integer',
    arg: 'N',
    min: 1,
    max: 50,
    group: 'event source mapping (defaults: serverless.yml)',
    help: 'concurrent invocations (maximumConcurrency)',
  },
  'function-timeout-s': {
    kind: 'integer',
    arg: 'N',
    min: 1,
    max: 900,
    group: 'event source mapping (defaults: serverless.yml)',
    help: "the handler's timeout (the consumer function's timeout)",
  },
  'visibility-timeout-s': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 43_200,
    group: 'event source mapping (defaults: serverless.yml)',
    help: "the embedded requests queue's visibility timeout (its VisibilityTimeout)",
  },
  'max-receive-count': {
    kind: 'integer',
    arg: 'N',
    min: 1,
    max: 1000,
    group: 'event source mapping (defaults: serverless.yml)',
    help: "the embedded requests queue's redrive threshold (RedrivePolicy.maxReceiveCount)",
  },
  'json-log': {
    kind: 'boolean',
    group: 'output',
    help: 'one JSON line per outcome / fan-out / invocation on stdout instead of\nthe live view',
  },
  'export-file': {
    kind: 'string',
    arg: 'FILE',
    group: 'output',
    help: 'also write the KEY=value lines to FILE (mode 600), for another\nterminal: set -a; . FILE; set +a',
  },
  'grace-ms': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 900_000,
    default: 5_000,
    group: 'output',
    help: 'on Ctrl-C, wait this long for in-flight batches',
  },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl run [options]

The controller on one machine: consumes the requests queue like Lambda's event source mapping
(invoking functions/transitions.ts), fires the enabled schedules of serverless.yml in their time
zones (invoking functions/schedule.ts), ticks the reconciler on the period serverless.yml declares
for it (invoking functions/reconcile.ts with policies.yml or JOBCTL_POLICIES; the first tick one
period after start; --no-reconcile: never), and publishes outcomes to the results queue.

  With no REQUESTS_QUEUE_URL, it starts an embedded SQS-compatible queue on 127.0.0.1:${DEFAULT_QUEUE_PORT}
  and creates the requests queue (with its DLQ and redrive policy) and the results queue.
  With no provider configured (no COS_ENDPOINT, OSS_ENDPOINT, AWS_ENDPOINT_URL_S3_CONTROL,
  TENCENTCLOUD_SECRETID or ALIBABA_CLOUD_ACCESS_KEY_ID), it starts the sandbox provider on
  127.0.0.1:${DEFAULT_SANDBOX_PORT}, seeded from events/sandbox-jobs.json.
  With no JOBCTL_TABLE, it starts a local DynamoDB on 127.0.0.1:${DEFAULT_DYNAMODB_PORT} holding serverless.yml's
  table (transition state and ledger).
  Their state is kept under ${DEFAULT_DATA_DIR} and restored by the next start (--ephemeral: not).

Configured endpoints (a queue or provider URL in the environment) are checked before it is
ready: one that refuses connections stops it with a message naming the variable.

When ready it prints KEY=value lines (queue URLs any SQS client can use as they are, endpoints,
local-only keys) for another terminal to export, then JOBCTL_READY=1. It never prints a
credential it did not make up itself. Ctrl-C stops it: in-flight batches finish (or, after
--grace-ms, return to the queue after their visibility timeout), and it says what was kept.

${optionsHelp(OPTIONS)}

exit codes: 0 stopped cleanly, 1 could not start, 2 bad options
`;

export const command: Command = { help: HELP, run };

type Counts = Record<OutcomeKind, number>;

/** Keys for the embedded queue, which accepts any signature: made up here, never the caller's. */
const LOCAL_QUEUE_KEYS = {
  AWS_ACCESS_KEY_ID: 'jobctl-local',
  AWS_SECRET_ACCESS_KEY: 'jobctl-local-not-a-secret',
};

const PROVIDER_VARIABLES = [
  'COS_ENDPOINT',
  'OSS_ENDPOINT',
  'AWS_ENDPOINT_URL_S3_CONTROL',
  'TENCENTCLOUD_SECRETID',
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
];

async function run(argv: string[], io: Io): Promise<number> {
  const { values: o } = parseOptions(argv, OPTIONS);
  const consumer = await consumerSettings(o.file, io.env);
  const batchSize = o['batch-size'] ?? Math.min(10, consumer.batchSize);
  const windowMs = o['batching-window-ms'] ?? Math.min(INTERACTIVE_WINDOW_MS, consumer.batchingWindowMs);
  const maxConcurrency = o['max-concurrency'] ?? consumer.maxConcurrency;
  const functionTimeoutMs = (o['function-timeout-s'] ?? consumer.functionTimeoutS) * 1000;
  const visibility = o['visibility-timeout-s'] ?? consumer.visibilityTimeoutS;
  const maxReceiveCount = o['max-receive-count'] ?? consumer.maxReceiveCount;
  const graceMs = o['grace-ms'];
  const latencyMs = o['sandbox-latency-ms'];
  const jsonLog = o['json-log'] === true;
  const dataDir = o.ephemeral ? undefined : o['data-dir'];

  // Everything the handlers read comes from this environment, as on Lambda.
  const env: NodeJS.ProcessEnv = { ...io.env };
  const closers: (() => Promise<unknown>)[] = [];
  let view: LiveView | undefined;
  const log = (line: string) => {
    if (jsonLog) return;
    if (view) view.print(line);
    else writeLine(io.stderr, line);
  };

  try {
    const wantSandbox =
      o.sandbox === true || (o['no-sandbox'] !== true && !PROVIDER_VARIABLES.some((k) => env[k]));
    // What the caller configured is checked before anything is announced: a second terminal's
    // stale exports would otherwise show as ECONNREFUSED once a second in the live view.
    await checkEndpoints(env, wantSandbox);

    const counts = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Counts;
    let fanouts = 0;
    const emit = (record: object) => {
      if (jsonLog) writeLine(io.stdout, JSON.stringify(record));
    };
    const stack = await startLocalStack({
      env,
      sandbox: wantSandbox
        ? {
            seed: path.resolve(o.seed),
            port: o['sandbox-port'],
            ...(dataDir ? { dataDir } : {}),
            ...(latencyMs ? { faults: { latencyMs } } : {}),
          }
        : false,
      queue: {
        port: o['queue-port'],
        dataDir,
        fifo: o.fifo === true,
        maxReceiveCount,
        visibilityTimeoutSeconds: visibility,
      },
      dynamo: { port: o['dynamodb-port'], dataDir, serverlessYml: path.resolve(o.file) },
      queueKeys: LOCAL_QUEUE_KEYS,
      observer: localObserver(counts, emit, () => fanouts++),
      ports: { sandbox: '--sandbox-port', dynamo: '--dynamodb-port' },
    });
    closers.push(() => stack.close());
    if (stack.queue?.restored)
      writeLine(io.stderr, `jobctl run: queue ${describeRestore(stack.queue.restored)}`);
    Object.assign(env, stack.env);
    const printed = stack.lines;
    const sqs = stack.sqs;
    const queue = stack.queue;
    const dlqUrl = stack.queues?.dlqUrl ?? env.DLQ_URL;
    const { transitions, schedule } = stack.handlers;

    // Schedules: the same declarations the deployed stack gets.
    const file = path.resolve(o.file);
    const timers = o['no-schedules']
      ? []
      : await scheduleAll(file, o['all-schedules'] === true, schedule, functionTimeoutMs, log, emit);
    closers.unshift(async () => {
      for (const t of timers) t.stop();
    });
    // The reconciler on serverless.yml's period; its last tick and the verdicts show in the live view.
    const ticker = o['no-reconcile'] ? undefined : await reconcileTicker(file, env, stack.runtime, log, emit);
    if (ticker) closers.unshift(() => ticker.stop());

    for (const [k, v] of printed) writeLine(io.stdout, `${k}=${v}`);
    if (o['export-file']) await writeEnvFile(o['export-file'], printed);
    writeLine(io.stdout, 'JOBCTL_READY=1');

    const errors = repeatLimiter();
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
      onError: (e) => {
        const line = `jobctl run: ${connectionRefused(e) ?? (e as Error).message}`;
        if (errors.fresh(line)) log(line);
      },
    });

    log(
      `jobctl run: consuming ${env.REQUESTS_QUEUE_URL}; ${timers.length} schedule(s) active` +
        `${o['no-schedules'] ? '' : timers.length === 0 ? ' (the examples ship disabled: --all-schedules)' : ''}. Ctrl-C to stop.`,
    );
    view =
      !jsonLog && io.stderr.isTTY
        ? liveView(io, sqs, { ...env, DLQ_URL: dlqUrl }, counts, () => esm.inFlight, timers, ticker)
        : undefined;

    await io.interrupted;
    view?.stop();
    view = undefined;
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
    if (queue) log(await keptOrDiscarded(sqs, env, dlqUrl, dataDir, wantSandbox));
    return 0;
  } finally {
    view?.stop();
    for (const close of closers) await close().catch(() => undefined);
  }
}

/**
 * functions/reconcile.ts on the period of its serverless.yml schedule (policies: JOBCTL_POLICIES or
 * the bundled policies.yml, read at every tick so an edit applies without a restart).
 */
async function reconcileTicker(
  file: string,
  env: NodeJS.ProcessEnv,
  runtime: RuntimeSource,
  log: (line: string) => void,
  emit: (record: object) => void,
): Promise<Ticker | undefined> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(file)) return undefined;
  const declared = await loadReconcileSchedule(file, { env });
  if (!declared) return undefined;
  const [{ createReconcileHandler, DEFAULT_POLICIES_FILE }, { loadPolicies }] = await Promise.all([
    import('../../../functions/reconcile'),
    import('../../core/policies'),
  ]);
  const minutes = String(Math.max(1, Math.round(declared.periodMs / 60_000)));
  const handler = createReconcileHandler(
    runtime,
    () => loadPolicies(env.JOBCTL_POLICIES || DEFAULT_POLICIES_FILE),
    { ...env, JOBCTL_RECONCILE_PERIOD_MINUTES: minutes },
  );
  return startTicker({
    periodMs: declared.periodMs,
    handler,
    context: (ms) => lambdaContext('reconcile', Date.now() + ms, ms),
    onTick: (r) => emit({ type: 'reconcile', report: r }),
    onError: (e, at) => log(`jobctl run: reconcile tick ${at} failed: ${(e as Error)?.message ?? e}`),
  });
}

/** The event source mapping as serverless.yml declares it; Lambda's defaults without one. */
async function consumerSettings(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<Omit<QueueConsumer, 'function'>> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(file)) return LAMBDA_DEFAULTS;
  return (await loadQueueConsumer(file, { env })) ?? LAMBDA_DEFAULTS;
}

/**
 * Every endpoint the caller configured, probed with a TCP connection: a refusal (settings
 * exported from a `jobctl run` that has since stopped) is reported by variable, before ready.
 */
async function checkEndpoints(env: NodeJS.ProcessEnv, sandbox: boolean): Promise<void> {
  const vars = ['AWS_ENDPOINT_URL_SQS', 'REQUESTS_QUEUE_URL', 'RESULTS_QUEUE_URL'];
  if (!sandbox) vars.push('COS_ENDPOINT', 'OSS_ENDPOINT', 'AWS_ENDPOINT_URL_S3_CONTROL');
  // A queue URL is only dialled when no endpoint override redirects it.
  const skip = new Set(env.AWS_ENDPOINT_URL_SQS ? ['REQUESTS_QUEUE_URL', 'RESULTS_QUEUE_URL'] : []);
  if (!env.REQUESTS_QUEUE_URL) skip.add('AWS_ENDPOINT_URL_SQS');
  for (const name of vars) {
    const raw = env[name];
    if (!raw || skip.has(name) || raw.includes('{')) continue;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port, timeout: 2_000 });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
    });
    if (refused) throw new Error(refusedAt(`${url.protocol}//${url.host}`, name));
  }
}

/** What stop leaves behind, said plainly: kept under the data directory, or discarded. */
async function keptOrDiscarded(
  sqs: SQSClient,
  env: NodeJS.ProcessEnv,
  dlqUrl: string | undefined,
  dataDir: string | undefined,
  sandbox: boolean,
): Promise<string> {
  const [req, res, dlq] = await Promise.all([
    depthOf(sqs, env.REQUESTS_QUEUE_URL),
    depthOf(sqs, env.RESULTS_QUEUE_URL),
    depthOf(sqs, dlqUrl),
  ]);
  const what = `${req} queued request(s), ${res} result(s), ${dlq} dead-lettered${sandbox ? ' and the sandbox jobs' : ''}`;
  return dataDir
    ? `jobctl run: kept ${what} in ${dataDir}; the next jobctl run here restores them (--ephemeral: keep nothing)`
    : `jobctl run: discarded ${what} (--ephemeral); without it they are kept in ${DEFAULT_DATA_DIR}`;
}

async function depthOf(sqs: SQSClient, url: string | undefined): Promise<string> {
  if (!url) return '-';
  try {
    const r = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const a = r.Attributes ?? {};
    return String(
      Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    );
  } catch {
    return '?';
  }
}

/** The same error line once a minute at most: a stopped queue would otherwise print every second. */
function repeatLimiter() {
  const last = new Map<string, number>();
  return {
    fresh(line: string): boolean {
      const now = Date.now();
      const seen = last.get(line);
      if (seen !== undefined && now - seen < 60_000) return false;
      if (last.size > 100) last.clear();
      last.set(line, now);
      return true;
    },
  };
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
    import('../../local/serverless-yml'),
    import('../../local/cron'),
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

interface LiveView {
  /** A log line above the view: the view is cleared, the line written, the view drawn again below. */
  print(line: string): void;
  stop(): void;
}

/** The compact live view on a terminal: redrawn in place once a second. */
function liveView(
  io: Io,
  sqs: SQSClient,
  env: NodeJS.ProcessEnv,
  counts: Counts,
  inFlight: () => number,
  timers: ScheduleTimer[],
  ticker?: Ticker,
): LiveView {
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  let lines = 0;
  let busy = false;
  let stopped = false;
  let last: string[] = [];
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
  const clear = () => (lines ? `\x1b[${lines}A\x1b[0J` : '');
  const paint = (out: string[]) => {
    // A wrapped line would throw the cursor arithmetic off: clip to the terminal's width.
    const width = Math.max(20, ((io.stderr as { columns?: number }).columns ?? 80) - 1);
    const clip = (l: string) => (l.length > width ? `${l.slice(0, width - 1)}…` : l);
    io.stderr.write(`${clear()}${out.map((l) => `\x1b[2K${clip(l)}`).join('\n')}\n`);
    lines = out.length;
  };
  const draw = async () => {
    if (busy || stopped) return;
    busy = true;
    const [req, res, dlq] = await Promise.all([
      depth(env.REQUESTS_QUEUE_URL),
      depth(env.RESULTS_QUEUE_URL),
      depth(env.DLQ_URL),
    ]);
    busy = false;
    if (stopped) return;
    // Fire times as `jobctl schedules` shows them: the wall time of the schedule's own zone.
    const next = timers
      .filter((t) => t.next)
      .sort((a, b) => a.next!.getTime() - b.next!.getTime())
      .slice(0, 3)
      .map((t) => `${t.name} ${wallTime(t.next!.toISOString(), t.timezone)}`);
    last = [
      `queue  requests ${req} · in flight ${inFlight()} · results ${res} · dead-lettered ${dlq}${dlq !== '0' && dlq !== '-' && dlq !== '?' ? ' (jobctl redrive)' : ''}`,
      `done   ${summary(counts)}`,
      `next   ${next.length ? next.join(' · ') : 'no schedules enabled (--all-schedules fires the examples)'}`,
      ...(ticker ? [tickerLine(ticker, (ms) => wallTime(new Date(ms).toISOString(), localZone))] : []),
    ];
    paint(last);
  };
  const timer = setInterval(() => void draw(), 1000);
  void draw();
  return {
    print(line) {
      if (stopped) {
        writeLine(io.stderr, line);
        return;
      }
      io.stderr.write(`${clear()}${line}\n`);
      lines = 0;
      if (last.length) paint(last);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
