/**
 * Flags that stand for fields of a transition message (`--region`, `--app-id`, `--job`, …). They
 * are checked by the message's own validator (`parseTransition`), so a bad region on the command
 * line is refused by exactly the rule that refuses it on the queue, and the error names the flag
 * the user typed rather than the JSON field.
 */

import { type InvalidField, parseTransition, type Transition } from '../core/transition';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { UsageError } from './command';
import type { OptionTable } from './options';

/** `--provider --region --account --app-id`: where jobs live. */
export const TARGET_OPTIONS = {
  provider: { kind: 'string', arg: 'cos|oss|s3', group: 'target', help: 'which provider' },
  region: {
    kind: 'string',
    arg: 'REGION',
    group: 'target',
    help: `e.g. ${EXAMPLE_TARGETS.cos.region} (cos), ${EXAMPLE_TARGETS.oss.region} (oss), ${EXAMPLE_TARGETS.s3.region} (s3)`,
  },
  account: {
    kind: 'string',
    arg: 'ID',
    group: 'target',
    help: 'cos: the UIN; s3: the 12-digit account id; oss: optional',
  },
  'app-id': { kind: 'string', arg: 'APPID', group: 'target', help: 'cos only: the APPID' },
} as const satisfies OptionTable;

export interface TargetFlags {
  provider?: string | undefined;
  region?: string | undefined;
  account?: string | undefined;
  'app-id'?: string | undefined;
}

/** Message field → the flag that sets it. Fields not listed keep their own name in messages. */
export type FieldFlags = Record<string, string>;

export const TARGET_FIELD_FLAGS: FieldFlags = {
  provider: '--provider',
  region: '--region',
  account: '--account',
  appId: '--app-id',
};

/** The message fields the target flags set (absent flags are left out, so "is required" can say so). */
export function targetFields(f: TargetFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.provider !== undefined) out.provider = f.provider;
  if (f.region !== undefined) out.region = f.region;
  if (f.account !== undefined) out.account = f.account;
  if (f['app-id'] !== undefined) out.appId = f['app-id'];
  return out;
}

/** A validator error, restated with the flag in place of the field: `--region: must match …`. */
export function flagError(error: InvalidField, flags: FieldFlags): UsageError {
  const rule = error.message.startsWith(`${error.field}: `)
    ? error.message.slice(error.field.length + 2)
    : error.message;
  // `select.statuses.2` → `select.statuses`: a repeated flag is named once.
  const field = error.field.replace(/\.\d+$/, '');
  const flag = flags[field] ?? flags[error.field] ?? error.field;
  return new UsageError(`${flag}: ${rule}`);
}

/** Validate a message built from flags; a refusal is a UsageError naming the flag (exit 2). */
export function validateFlags(message: Record<string, unknown>, flags: FieldFlags): Transition {
  const r = parseTransition(message);
  if (!r.ok) throw flagError(r.error, flags);
  return r.value;
}

/**
 * A target given by flags, checked with the message rules: builds a probe transition (a priority
 * change, which sends nothing here) around the target and whatever else the command reads.
 */
export function validateTarget(
  f: TargetFlags,
  rest: { jobId?: string | undefined; select?: Record<string, unknown> },
  flags: FieldFlags = {},
): Transition {
  const probe: Record<string, unknown> = {
    ...targetFields(f),
    action: 'UpdateJobPriority',
    priority: 0,
  };
  if (rest.jobId !== undefined) probe.jobId = rest.jobId;
  if (rest.select !== undefined) probe.select = rest.select;
  return validateFlags(probe, { ...TARGET_FIELD_FLAGS, ...flags });
}
