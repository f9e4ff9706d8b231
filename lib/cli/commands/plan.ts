/**
 * `jobctl plan`: what the reconciler would do now (or at `--at`), against the jobs as they are
 * now, and why. Read-only: it lists jobs and never sends a change. The same observe + plan as the
 * deployed reconcile function, so what it prints is what a tick would do.
 */
import { explain, type Plan, plan } from '../../core/planner';
import { loadPolicies, PolicyFileError } from '../../core/policies';
import { type Observation, observe } from '../../lambda/reconcile';
import { readControllerConfig } from '../../lambda/runtime';
import { providersFromEnv } from '../../providers/index';
import { type Command, type Io, UsageError, writeLine } from '../command';
import { PROVIDER_ENV_HELP } from '../env';
import { table, wantJson } from '../format';
import { type OptionTable, optionsHelp, parseOptions } from '../options';

export const DEFAULT_POLICIES = 'policies.yml';

const OPTIONS = {
  policies: { kind: 'string', arg: 'FILE', help: 'the policy file (default ./policies.yml)' },
  at: {
    kind: 'string',
    arg: 'ISO-TIME',
    help: 'evaluate the windows at this time (with its offset, e.g. 2026-12-07T01:30:00+08:00), against the jobs as they are now',
  },
  explain: { kind: 'string', arg: 'JOB_ID', help: "every policy's verdict on this job" },
  json: {
    kind: 'boolean',
    help: '{"at", "actions": [...], "holds": [...], "warnings": [...], "unlisted": [...]}',
  },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl plan [--policies FILE] [--at ISO-TIME] [--json] [--explain JOB_ID]

Reads the live jobs of every policy's target (ListJobs, read-only) and prints what the reconciler
would do: actions (with the rule and its figures), holds (matched jobs left as they are, and
why), warnings (overlapping policies, jobs a provider will fail first, targets outside
JOBCTL_ALLOWED_TARGETS, targets that could not be listed).

${optionsHelp(OPTIONS)}

${PROVIDER_ENV_HELP}

exit codes: 0 whatever the plan, 2 for an invalid policy file or bad options.
`;

export const command: Command = { help: HELP, run };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The policy file, or the exit code 2 with every error on stderr. */
export async function policiesOrExit(io: Io, path: string) {
  try {
    return await loadPolicies(path);
  } catch (e) {
    if (!(e instanceof PolicyFileError)) throw e;
    for (const err of e.errors) writeLine(io.stderr, err.message);
    return 2;
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  let at = Date.now();
  if (values.at !== undefined) {
    if (!ISO.test(values.at) || Number.isNaN(Date.parse(values.at)))
      throw new UsageError('--at: must be an ISO 8601 time with its offset, e.g. 2026-12-07T01:30:00+08:00');
    at = Date.parse(values.at);
  }
  const policies = await policiesOrExit(io, values.policies ?? DEFAULT_POLICIES);
  if (typeof policies === 'number') return policies;

  const config = readControllerConfig(io.env);
  const providers = providersFromEnv(io.env, config.retry.callTimeoutMs);
  let seen: Observation;
  try {
    seen = await observe(
      policies,
      { providers, allowlist: config.allowlist, retry: config.retry },
      Date.now() + config.retry.budgetMs,
    );
  } finally {
    providers.close();
  }
  const opts = { allows: config.allowlist.allows };
  const p = plan(policies, seen.jobsByTarget, at, opts);
  const json = wantJson(io, values.json);

  if (values.explain !== undefined) {
    const verdicts = explain(policies, seen.jobsByTarget, at, values.explain, opts, p);
    if (json) writeLine(io.stdout, JSON.stringify({ at: p.at, jobId: values.explain, verdicts }));
    else
      for (const l of table(
        ['POLICY', 'VERDICT', 'WHY'],
        verdicts.map((v) => [v.policy, v.verdict, v.detail]),
      ))
        writeLine(io.stdout, l);
    return 0;
  }
  if (json) {
    const { matched: _m, ...rest } = p;
    writeLine(io.stdout, JSON.stringify({ ...rest, unlisted: seen.unlisted }));
    return 0;
  }
  for (const l of render(p, seen)) writeLine(io.stdout, l);
  return 0;
}

export function render(p: Plan, seen: Pick<Observation, 'unlisted'>): string[] {
  const out = [
    `plan at ${p.at}: ${p.actions.length} actions, ${p.holds.length} holds, ${p.warnings.length} warnings`,
  ];
  if (p.actions.length > 0) {
    out.push('', 'ACTIONS');
    out.push(
      ...table(
        ['POLICY', 'JOB', 'NOW', 'DO', 'WHY'],
        p.actions.map((a) => [
          a.mode === 'report' ? `${a.policy} (report)` : a.policy,
          a.jobId,
          `${a.current.status}/${a.current.priority ?? '-'}`,
          a.verb === 'priority' ? `priority ${a.priority}` : a.verb,
          a.reason,
        ]),
      ),
    );
  }
  if (p.holds.length > 0) {
    out.push('', 'HOLDS');
    out.push(
      ...table(
        ['POLICY', 'JOB', 'STATUS', 'WHY'],
        p.holds.map((h) => [h.policy, h.jobId, h.status, h.reason]),
      ),
    );
  }
  if (p.warnings.length > 0 || seen.unlisted.length > 0) {
    out.push('', 'WARNINGS');
    for (const w of p.warnings) out.push(`  ${w.policy}: ${w.message}`);
    for (const u of seen.unlisted)
      out.push(`  ${u.key}: not listed (${u.code}: ${u.message}); nothing planned for it`);
  }
  return out;
}
