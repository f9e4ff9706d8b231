/**
 * `jobctl list`: jobs of one target (ListJobs), across pages, filtered by status at the provider
 * and by description prefix here (no provider filters descriptions), newest first as the
 * providers list them.
 */

import { isSelect, targetOf } from '../../core/transition';
import { readControllerConfig } from '../../lambda/runtime';
import { providersFromEnv } from '../../providers/index';
import type { Job } from '../../providers/types';
import { type Command, type Io, writeLine } from '../command';
import { PROVIDER_ENV_HELP } from '../env';
import { TARGET_OPTIONS, validateTarget } from '../flags';
import { wantJson } from '../format';
import { EXIT_HELP, jobTable, providerFailure, withRetries } from '../jobs';
import { type OptionTable, optionsHelp, parseOptions } from '../options';

const OPTIONS = {
  ...TARGET_OPTIONS,
  status: {
    kind: 'string',
    arg: 'S',
    multiple: true,
    group: 'filters',
    help: 'only jobs in status S (repeatable): New, Preparing, Suspended, Ready,\nActive, Pausing, Paused, Completing, Complete, Cancelling, Cancelled,\nFailing, Failed',
  },
  prefix: { kind: 'string', arg: 'P', group: 'filters', help: 'only jobs whose description starts with P' },
  // A message rule (select.max), checked by the message validator so the two never disagree.
  max: {
    kind: 'number',
    arg: 'N',
    default: 100,
    group: 'filters',
    help: 'at most N jobs, 1–100000 (default 100); a note on stderr says when\nit stopped there',
  },
  json: { kind: 'boolean', group: 'filters', help: 'JSON lines even on a terminal' },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl list --provider P --region R [--account A] [--app-id APPID]
                   [--status S]… [--prefix P] [--max N] [--json]

Lists jobs (ListJobs, following nextToken across pages). On a terminal as a table; piped or
with --json as one JSON object per job per line:
{"jobId","status","priority","description","creationTime","statusUpdateReason"}.

${optionsHelp(OPTIONS)}

${PROVIDER_ENV_HELP}

${EXIT_HELP}
`;

export const command: Command = { help: HELP, run };

/** The providers' largest page (COS, OSS and S3 all take 1–1000). */
const PAGE = 1000;

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  const select: Record<string, unknown> = { max: values.max };
  if (values.status !== undefined) select.statuses = values.status;
  if (values.prefix !== undefined) select.descriptionPrefix = values.prefix;
  // The selector of a message has the same three filters: its rules check the flags.
  const t = validateTarget(
    values,
    { select },
    {
      'select.statuses': '--status',
      'select.descriptionPrefix': '--prefix',
      'select.max': '--max',
    },
  );
  if (!isSelect(t)) throw new Error('unreachable: a list target is a select');
  const { statuses, descriptionPrefix: prefix } = t.select;
  const max = t.select.max ?? 100;

  const policy = readControllerConfig(io.env);
  const providers = providersFromEnv(io.env, policy.retry.callTimeoutMs);
  const json = wantJson(io, values.json);
  const jobs: Job[] = [];
  let more = false;
  try {
    const provider = await providers.get(t.provider);
    let nextToken: string | undefined;
    do {
      const want = prefix === undefined ? Math.min(PAGE, max - jobs.length) : PAGE;
      const page = await withRetries(policy.retry, (o) =>
        provider.list(targetOf(t), { statuses, maxResults: want, nextToken }, o),
      );
      for (const job of page.jobs) {
        if (prefix !== undefined && !job.description?.startsWith(prefix)) continue;
        // A provider that ignores the status filter must not widen the answer.
        if (statuses && !statuses.includes(job.status as never)) continue;
        if (jobs.length === max) {
          more = true;
          break;
        }
        jobs.push(job);
        if (json) writeLine(io.stdout, JSON.stringify(job));
      }
      nextToken = page.nextToken ?? undefined;
    } while (nextToken && !more && jobs.length < max);
    if (nextToken && jobs.length === max) more = true;
  } catch (e) {
    return providerFailure(io, 'list', e);
  } finally {
    providers.close();
  }
  if (!json) {
    for (const line of jobTable(jobs)) writeLine(io.stdout, line);
    writeLine(io.stdout, `${jobs.length} job${jobs.length === 1 ? '' : 's'}`);
  }
  if (more) writeLine(io.stderr, `jobctl list: stopped at --max ${max}; more jobs may match`);
  return 0;
}
