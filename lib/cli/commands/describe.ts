/**
 * `jobctl describe`: one job as the provider reports it (DescribeJob), normalized like every
 * provider's job. The target is checked with the message rules before anything is sent.
 */

import { targetOf } from '../../core/transition';
import { readControllerConfig } from '../../lambda/runtime';
import { providersFromEnv } from '../../providers/index';
import { type Command, type Io, UsageError, writeLine } from '../command';
import { PROVIDER_ENV_HELP } from '../env';
import { TARGET_OPTIONS, validateTarget } from '../flags';
import { wantJson } from '../format';
import { EXIT_HELP, jobDetails, providerFailure, withRetries } from '../jobs';
import { type OptionTable, optionsHelp, parseOptions } from '../options';

const OPTIONS = {
  ...TARGET_OPTIONS,
  job: { kind: 'string', arg: 'ID', group: 'target', help: 'the job (S3: 5–36 of [A-Za-z0-9_-])' },
  json: { kind: 'boolean', help: 'JSON even on a terminal' },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl describe --provider P --region R [--account A] [--app-id APPID] --job ID [--json]

Shows one job (DescribeJob): status, priority, description, creation time, last status reason.
On a terminal as a list of fields; piped or with --json as one JSON object:
{"jobId","status","priority","description","creationTime","statusUpdateReason"}.

${optionsHelp(OPTIONS)}

${PROVIDER_ENV_HELP}

${EXIT_HELP}
`;

export const command: Command = { help: HELP, run };

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.job === undefined) throw new UsageError('--job is required');
  const t = validateTarget(values, { jobId: values.job }, { jobId: '--job' });
  const policy = readControllerConfig(io.env);
  const providers = providersFromEnv(io.env, policy.retry.callTimeoutMs);
  try {
    const provider = await providers.get(t.provider);
    const job = await withRetries(policy.retry, (o) => provider.describe(targetOf(t), values.job!, o));
    if (wantJson(io, values.json)) writeLine(io.stdout, JSON.stringify(job));
    else for (const line of jobDetails(job)) writeLine(io.stdout, line);
    return 0;
  } catch (e) {
    return providerFailure(io, 'describe', e);
  } finally {
    providers.close();
  }
}
