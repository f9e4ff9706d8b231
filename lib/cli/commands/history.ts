/**
 * `jobctl history`: the ledger, newest first — one job's whole story, or the recent jobs of a
 * policy or a target (read from their indexes, never a Scan).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OUTCOME_KINDS } from '../../core/outcome';
import { VERDICTS } from '../../core/verdict';
import { envCredentials } from '../../providers/aws-env';
import { type Command, type Io, UsageError, writeLine } from '../command';
import { requireEnv } from '../env';
import { TARGET_OPTIONS, validateTarget } from '../flags';
import { wantJson } from '../format';
import { type HistoryEvent, jobHistory, recentHistory } from '../history-query';
import { type OptionTable, optionsHelp, parseOptions } from '../options';

const KINDS = [...OUTCOME_KINDS, 'superseded', ...VERDICTS] as const;

const OPTIONS = {
  ...TARGET_OPTIONS,
  job: { kind: 'string', arg: 'ID', group: 'target', help: 'one job of that target' },
  policy: { kind: 'string', arg: 'NAME', help: 'the jobs a policy watched (instead of a target)' },
  since: { kind: 'string', arg: 'ISO', help: 'only events at or after this time (ISO 8601)' },
  outcome: {
    kind: 'string',
    arg: 'KIND',
    help: `only outcomes of this kind or verdicts of this kind:\n${KINDS.join(', ')}`,
  },
  'max-jobs': {
    kind: 'integer',
    arg: 'N',
    min: 1,
    max: 1000,
    default: 50,
    help: 'at most N jobs for a policy or target',
  },
  json: { kind: 'boolean', help: 'JSON lines even on a terminal' },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl history --provider P --region R [--account A] [--app-id APPID] [--job ID]
       jobctl history --policy NAME
       [--since ISO] [--outcome KIND] [--max-jobs N] [--json]

What happened, newest first, from the ledger: transitions with their outcome and reason, status
changes with the progress at that moment, and the verdict. With --job, the whole story of one job;
with a target alone, its recent jobs; with --policy, the recent jobs that policy watched.
On a terminal one line per event; piped or with --json one JSON object per line:
{"at","kind","provider","region","account","appId","jobId","detail":{…}}.

${optionsHelp(OPTIONS)}

environment:
  JOBCTL_TABLE             the DynamoDB table (jobctl run prints it)
  AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY

exit codes: 0 done, 2 bad options, 1 the ledger cannot be read
`;

export const command: Command = { help: HELP, run };

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  const hasTarget = values.provider !== undefined || values.region !== undefined;
  if (values.policy !== undefined && (hasTarget || values.job !== undefined))
    throw new UsageError('--policy or a target (--provider, --region, …), not both');
  if (values.policy === undefined && !hasTarget)
    throw new UsageError('give --policy NAME or a target (--provider --region …)');
  if (values.policy !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(values.policy))
    throw new UsageError('--policy: 1–64 of [A-Za-z0-9_.-]');
  let since: string | undefined;
  if (values.since !== undefined) {
    const ms = Date.parse(values.since);
    if (!/^\d{4}-\d\d-\d\d/.test(values.since) || Number.isNaN(ms))
      throw new UsageError(`--since must be an ISO 8601 time, not ${JSON.stringify(values.since)}`);
    // Stored times are UTC ISO strings: compare like with like.
    since = new Date(ms).toISOString();
  }
  if (values.outcome !== undefined && !(KINDS as readonly string[]).includes(values.outcome))
    throw new UsageError(`--outcome must be one of ${KINDS.join(', ')}`);
  const maxJobs = values['max-jobs'];
  // A probe needs a job or a selector; an empty selector stands for "the whole target".
  const target = hasTarget
    ? validateTarget(values, values.job !== undefined ? { jobId: values.job } : { select: {} }, {
        jobId: '--job',
      })
    : null;
  const table = requireEnv(io.env, 'JOBCTL_TABLE');
  const client = dynamoClient(io.env);
  const q = { since, outcome: values.outcome, maxJobs };
  try {
    const events =
      target && values.job !== undefined
        ? await jobHistory(client, table, target, values.job, q)
        : await recentHistory(client, table, target ? { target } : { policy: values.policy! }, q);
    const json = wantJson(io, values.json);
    for (const e of events)
      writeLine(io.stdout, json ? JSON.stringify(e) : eventLine(e, values.job === undefined));
    if (!json && events.length === 0)
      writeLine(io.stderr, 'no history (nothing recorded, or all of it filtered out)');
    return 0;
  } catch (e) {
    writeLine(
      io.stderr,
      `jobctl history: the ledger cannot be read: ${(e as Error).name}: ${(e as Error).message}`,
    );
    return 1;
  } finally {
    client.destroy();
  }
}

function dynamoClient(env: NodeJS.ProcessEnv): DynamoDBClient {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB;
  const credentials = envCredentials(env);
  return new DynamoDBClient({
    region: env.AWS_REGION || 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

type Tasks = { total: number; succeeded: number; failed: number } | null | undefined;
const tasks = (p: Tasks) => (p ? ` (${p.succeeded}/${p.total} tasks done, ${p.failed} failed)` : '');

/** One event as a person reads it. */
export function eventLine(e: HistoryEvent, withJob: boolean): string {
  const d = e.detail;
  let what: string;
  switch (e.kind) {
    case 'outcome': {
      const asked =
        d.action === 'UpdateJobPriority'
          ? `priority ${d.requestedPriority}`
          : `status ${d.requestedJobStatus ?? '?'}`;
      const err = d.error as { code?: string } | null;
      const reason = d.statusUpdateReason ? ` "${d.statusUpdateReason}"` : '';
      what = `${String(d.outcome).padEnd(9)} ${asked}${reason}${err?.code ? ` — ${err.code}` : ''} [${d.trigger}] ${d.outcomeId}`;
      break;
    }
    case 'status':
      what = `${'status'.padEnd(9)} ${d.from ?? '(first seen)'} → ${d.to}${tasks(d.progress as Tasks)}`;
      break;
    case 'settled':
      what = `${'verdict'.padEnd(9)} ${d.verdict}: ${d.status}${tasks(d.tasks as Tasks)}`;
      break;
    case 'closed':
      what = `${'closed'.padEnd(9)} ${d.reason} (the provider no longer has it; last known state kept)`;
      break;
  }
  return `${e.at}  ${withJob ? `${e.provider} ${e.jobId}  ` : ''}${what}`;
}
