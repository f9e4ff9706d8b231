/**
 * `jobctl send`: transition messages onto the requests queue, validated first — all of them,
 * before anything is sent — so a typo is refused on the spot with its field named instead of
 * turning into an `invalid` outcome minutes later. A file with one bad line sends nothing.
 */

import { parseTransitionBody, type Transition } from '../../core/transition';
import { toRequestMessage, withRequestedAt } from '../../lambda/batch';
import { createSendingClient, sendAll } from '../../lambda/sqs';
import { type Command, type Io, readInput, UsageError, writeLine } from '../command';
import { QUEUE_ENV_HELP, requireEnv } from '../env';
import { connectionRefused } from '../errors';
import { type FieldFlags, TARGET_FIELD_FLAGS, TARGET_OPTIONS, targetFields, validateFlags } from '../flags';
import { splitTransitions } from '../input';
import { type OptionTable, optionsHelp, parseOptions, type Values as ValuesOf } from '../options';
import { progress } from '../progress';

// Numbers that are message fields are kinds of `number` with no range here: the message validator
// owns their rules, so `--priority -1` is refused with exactly the rule a queued message meets.
const OPTIONS = {
  ...TARGET_OPTIONS,
  job: { kind: 'string', arg: 'ID', group: 'job (one of)', help: 'one job' },
  'select-status': {
    kind: 'string',
    arg: 'S',
    multiple: true,
    group: 'job (one of)',
    help: 'with ListJobs, every job in status S (repeatable)',
  },
  prefix: { kind: 'string', arg: 'P', group: 'job (one of)', help: '… whose description starts with P' },
  'older-than': {
    kind: 'number',
    arg: 'MIN',
    group: 'job (one of)',
    help: '… created at least MIN minutes before it is handled',
  },
  max: { kind: 'number', arg: 'N', group: 'job (one of)', help: '… at most N jobs (default 1000)' },
  status: {
    kind: 'string',
    arg: 'Ready|Cancelled',
    group: 'change (one of)',
    help: 'UpdateJobStatus; --reason TEXT sets statusUpdateReason',
  },
  reason: { kind: 'string', arg: 'TEXT', group: 'change (one of)', help: 'statusUpdateReason, 0–256 bytes' },
  priority: { kind: 'number', arg: 'N', group: 'change (one of)', help: 'UpdateJobPriority, 0–2147483647' },
  id: {
    kind: 'string',
    arg: 'ID',
    group: 'other',
    help: 'correlation id echoed in the outcome (default: the SQS message id)',
  },
  'not-after': {
    kind: 'string',
    arg: 'ISO-TIME',
    group: 'other',
    help: 'deadline: handled later, the transition is "expired" and not sent',
  },
  json: {
    kind: 'boolean',
    help: 'print {"enqueued":n,"failed":[{"where","code","message"}]} instead of a sentence',
  },
  'dry-run': { kind: 'boolean', help: 'validate only; send nothing' },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl send [FILE|-] [--json] [--dry-run]
       jobctl send --provider P --region R [--account A] [--app-id APPID]
                   (--job ID | --select-status S… [--prefix P] [--older-than MIN] [--max N])
                   (--status Ready|Cancelled [--reason TEXT] | --priority N)
                   [--id ID] [--not-after ISO-TIME] [--json] [--dry-run]

Puts transition messages on the requests queue (REQUESTS_QUEUE_URL) for the controller.
Every transition is validated first; if any is invalid, each problem is printed to stderr as
"line N: <field>: <rule>" (flag form: "--flag: <rule>") and nothing is sent.

Input (FILE, or standard input for - or no FILE): one transition object, a JSON array, or JSON
Lines. Or build one transition from flags:

${optionsHelp(OPTIONS)}

environment:
  REQUESTS_QUEUE_URL       the queue to send to (a .fifo queue: one message group per job)
${QUEUE_ENV_HELP}

Progress is shown on stderr when it is a terminal.

exit codes: 0 all enqueued, 2 an invalid transition or bad options (nothing sent),
            1 some could not be enqueued, or the queue is not configured
`;

export const command: Command = { help: HELP, run };

const MESSAGE_FLAGS = Object.keys(OPTIONS).filter((k) => k !== 'json' && k !== 'dry-run');

const FIELD_FLAGS: FieldFlags = {
  ...TARGET_FIELD_FLAGS,
  jobId: '--job',
  select: '--job or --select-status',
  'select.statuses': '--select-status',
  'select.descriptionPrefix': '--prefix',
  'select.olderThanMinutes': '--older-than',
  'select.max': '--max',
  requestedJobStatus: '--status',
  statusUpdateReason: '--reason',
  priority: '--priority',
  action: '--status or --priority',
  id: '--id',
  notAfter: '--not-after',
};

/** How many messages go to SendMessageBatch calls between two progress updates. */
const CHUNK = 100;

type Values = ValuesOf<typeof OPTIONS>;

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, { positionals: true });
  const flagForm = MESSAGE_FLAGS.some((k) => values[k as keyof Values] !== undefined);
  if (flagForm && positionals.length > 0)
    throw new UsageError('give either a FILE or the transition flags (--provider …), not both');
  if (positionals.length > 1) throw new UsageError('give at most one FILE (or - for standard input)');

  let transitions: { where: string; t: Transition }[];
  if (flagForm) {
    transitions = [{ where: 'flags', t: validateFlags(fromFlags(values), FIELD_FLAGS) }];
  } else {
    const items = splitTransitions(await readInput(positionals[0], io));
    if (items.length === 0) throw new UsageError('no transitions in the input');
    transitions = [];
    let invalid = 0;
    for (const item of items) {
      const r = parseTransitionBody(item.body);
      if (r.ok) transitions.push({ where: item.where, t: r.value });
      else {
        invalid++;
        writeLine(io.stderr, `${item.where}: ${r.error.message}`);
      }
    }
    if (invalid > 0) {
      writeLine(io.stderr, `jobctl send: ${invalid} invalid of ${items.length}; nothing was sent`);
      return 2;
    }
  }

  if (values['dry-run']) {
    if (values.json)
      writeLine(io.stdout, JSON.stringify({ enqueued: 0, valid: transitions.length, failed: [] }));
    else
      writeLine(
        io.stdout,
        `${transitions.length} valid transition${transitions.length === 1 ? '' : 's'}; nothing sent (--dry-run)`,
      );
    return 0;
  }

  const queueUrl = requireEnv(io.env, 'REQUESTS_QUEUE_URL');
  // When each was requested (the per-job order the transitions function keeps): now, a
  // millisecond apart in input order, so that later lines of one file are the newer requests.
  const stampedAt = Date.now();
  transitions = transitions.map((x, i) => ({ ...x, t: withRequestedAt(x.t, stampedAt + i) }));
  const sqs = createSendingClient(io.env);
  const shown = progress(io, 'jobctl send:', transitions.length);
  const failed: { where: string; code: string; message: string }[] = [];
  let enqueued = 0;
  try {
    for (let from = 0; from < transitions.length; from += CHUNK) {
      const chunk = transitions.slice(from, from + CHUNK);
      const report = await sendAll(
        sqs,
        queueUrl,
        chunk.map(({ t }) => toRequestMessage(t)),
      );
      enqueued += report.sent.length;
      for (const f of report.failed)
        failed.push({ where: chunk[f.index]!.where, code: f.code, message: f.message });
      shown.tick(chunk.length);
    }
  } finally {
    shown.done();
    sqs.destroy();
  }

  if (values.json) writeLine(io.stdout, JSON.stringify({ enqueued, failed }));
  else {
    // Nothing listening (settings from a stopped `jobctl run`): one sentence with the fix, not one per line.
    const refused = enqueued === 0 && failed[0] ? connectionRefused(new Error(failed[0].message)) : undefined;
    if (refused) writeLine(io.stderr, `jobctl send: ${refused}`);
    else for (const f of failed) writeLine(io.stderr, `${f.where}: not enqueued (${f.code}: ${f.message})`);
    const name = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
    writeLine(
      io.stdout,
      `enqueued ${enqueued} of ${transitions.length} transition${transitions.length === 1 ? '' : 's'} on ${name}`,
    );
  }
  return failed.length > 0 ? 1 : 0;
}

/** The message the flags describe; absent flags stay absent so the validator can say what is missing. */
function fromFlags(v: Values): Record<string, unknown> {
  const m: Record<string, unknown> = targetFields(v);
  if (v.id !== undefined) m.id = v.id;
  if (v.job !== undefined) m.jobId = v.job;
  const selecting = [v['select-status'], v.prefix, v['older-than'], v.max].some((x) => x !== undefined);
  if (selecting) {
    const select: Record<string, unknown> = {};
    if (v['select-status'] !== undefined) select.statuses = v['select-status'];
    if (v.prefix !== undefined) select.descriptionPrefix = v.prefix;
    if (v['older-than'] !== undefined) select.olderThanMinutes = v['older-than'];
    if (v.max !== undefined) select.max = v.max;
    m.select = select;
  }
  if (v.status !== undefined && v.priority !== undefined)
    throw new UsageError('give --status (UpdateJobStatus) or --priority (UpdateJobPriority), not both');
  if (v.status !== undefined) {
    m.action = 'UpdateJobStatus';
    m.requestedJobStatus = v.status;
    if (v.reason !== undefined) m.statusUpdateReason = v.reason;
  } else if (v.priority !== undefined) {
    m.action = 'UpdateJobPriority';
    m.priority = v.priority;
    if (v.reason !== undefined) throw new UsageError('--reason goes with --status');
  } else {
    throw new UsageError('give --status Ready|Cancelled or --priority N');
  }
  if (v['not-after'] !== undefined) m.notAfter = v['not-after'];
  return m;
}
