/**
 * `jobctl reconcile`: reconcile ticks now, through the requests queue, exactly as the deployed
 * function does them (functions/reconcile.ts): the transitions function (or `jobctl run`) then
 * applies what was enqueued. `--once` ticks once; otherwise every period until interrupted.
 */
import { createReconcileHandler, periodMs } from '../../../functions/reconcile';
import type { ReconcileReport } from '../../lambda/reconcile';
import { createRuntime } from '../../lambda/runtime';
import { lambdaContext } from '../../local/event-source-mapping';
import { type Command, type Io, writeLine } from '../command';
import { QUEUE_ENV_HELP } from '../env';
import { wantJson } from '../format';
import { type OptionTable, optionsHelp, parseOptions } from '../options';
import { DEFAULT_POLICIES, policiesOrExit } from './plan';

const OPTIONS = {
  policies: { kind: 'string', arg: 'FILE', help: 'the policy file (default ./policies.yml)' },
  once: {
    kind: 'boolean',
    help: 'one tick, then exit (default: a tick every JOBCTL_RECONCILE_PERIOD_MINUTES, 5 by default, until interrupted)',
  },
  json: { kind: 'boolean', help: "print each tick's report as JSON" },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl reconcile [--policies FILE] [--once] [--json]

Runs the reconciler: lists every policy's target once, plans, puts each action on the requests
queue as a transition message (id reconcile/<policy>/<tick>/<job>/<verb>) and publishes one
{"type":"reconcile"} report on the results queue. Report-mode policies send nothing.

${optionsHelp(OPTIONS)}

environment: REQUESTS_QUEUE_URL, RESULTS_QUEUE_URL,
${QUEUE_ENV_HELP}

exit codes: 0 done, 2 invalid policy file or options, 1 a tick failed.
`;

export const command: Command = { help: HELP, run };

const TICK_TIMEOUT_MS = 120_000;

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  const policies = await policiesOrExit(io, values.policies ?? DEFAULT_POLICIES);
  if (typeof policies === 'number') return policies;
  const period = periodMs(io.env);
  const runtime = createRuntime(io.env);
  const tick = createReconcileHandler(runtime, policies, io.env);
  const json = wantJson(io, values.json);
  let stop = false;
  void io.interrupted.then(() => {
    stop = true;
  });
  try {
    for (;;) {
      const started = Date.now();
      const report = await tick({}, lambdaContext('reconcile', started + TICK_TIMEOUT_MS, TICK_TIMEOUT_MS));
      writeLine(io.stdout, json ? JSON.stringify(report) : summary(report));
      if (values.once || stop) return 0;
      const wait = Math.max(0, started + period - Date.now());
      await Promise.race([new Promise((r) => setTimeout(r, wait).unref()), io.interrupted]);
      if (stop) return 0;
    }
  } finally {
    runtime.providers.close();
    runtime.sqs.destroy();
  }
}

function summary(r: ReconcileReport): string {
  const per = r.policies.map(
    (p) =>
      `${p.name}${p.mode === 'report' ? ' (report)' : ''}: ${p.matched} matched, ${p.actions} actions, ${p.holds} holds, ${p.warnings} warnings`,
  );
  const notes = [
    ...r.unlisted.map((u) => `${u.key} not listed (${u.code})`),
    ...(r.stoppedAtDeadline ? [`stopped at the deadline: ${r.notEnqueued} actions not enqueued`] : []),
  ];
  return [
    `tick ${r.tickTime}: ${r.enqueued} enqueued in ${r.durationMs} ms`,
    ...per.map((l) => `  ${l}`),
    ...notes.map((l) => `  ! ${l}`),
  ].join('\n');
}
