/**
 * `policies.yml`: the desired state of every job a policy matches — when confirming is allowed,
 * how many may run at once, which priority they should have, and when to give up on one. Read by
 * `jobctl plan`, `jobctl reconcile` and the deployed reconcile function alike.
 *
 * Every error names the policy (by name, or by index when the name itself is wrong), the field and
 * the rule, with the file's line where the YAML library knows it, because a policy file is edited
 * by hand and read by a machine that acts on it every five minutes.
 *
 * @example
 * const r = parsePolicies(await readFile('policies.yml', 'utf8'), 'policies.yml');
 * if (!r.ok) for (const e of r.errors) console.error(e.message); // "policies.yml:7: policy nightly-window: window.end: …"
 */
import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { APPID_PATTERN, MAX_PRIORITY, REGION_PATTERN, REGION_RULE, RULES } from '../providers/rules';
import { PROVIDERS, type Target } from '../providers/types';
import { isTimeZone } from './zone';

export const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
export type Day = (typeof DAYS)[number];
export const CONFIRM_MODES = ['window', 'always', 'never'] as const;
export type ConfirmMode = (typeof CONFIRM_MODES)[number];
export const MAX_POLICIES = 200;

export interface Window {
  timezone: string;
  /** The days a window may open on (a window wrapping midnight belongs to the day it opens). */
  days: Day[];
  /** Minutes after local midnight. */
  start: number;
  end: number;
  /** As written, for reasons: `01:00`. */
  startText: string;
  endText: string;
}

export interface Policy {
  name: string;
  mode: 'enforce' | 'report';
  /** false: the policy is listed (holds say so) but never acts; lets an operator pause one. */
  enabled: boolean;
  /** Free text for the people reading the file and the reports. */
  notes?: string | undefined;
  target: Target;
  match: { descriptionPrefix?: string | undefined; olderThanMinutes?: number | undefined };
  window?: Window | undefined;
  confirm: ConfirmMode;
  priority?: { open?: number | undefined; closed?: number | undefined } | undefined;
  maxActive?: number | undefined;
  cancel?:
    | {
        failedRatioAbove?: number | undefined;
        afterTasks?: number | undefined;
        activeLongerThanMinutes?: number | undefined;
        suspendedLongerThanMinutes?: number | undefined;
      }
    | undefined;
  /** 1-based line of the policy in its file, for messages. */
  line?: number | undefined;
}

export interface PolicyError {
  /** The policy's name, or `#<index>` when it has none (yet). */
  policy: string;
  /** Dotted path inside the policy (`window.end`), or `(file)`. */
  field: string;
  rule: string;
  line?: number | undefined;
  /** `<file>:<line>: policy <p>: <field>: <rule>`. */
  message: string;
}

export type PoliciesResult = { ok: true; policies: Policy[] } | { ok: false; errors: PolicyError[] };

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

const int = (min: number, max: number) =>
  v.pipe(
    v.number(`must be an integer from ${min} to ${max}`),
    v.check((n) => Number.isInteger(n) && n >= min && n <= max, `must be an integer from ${min} to ${max}`),
  );

const strict = <T extends v.ObjectEntries>(entries: T) => v.strictObject(entries, objectMessage);

function objectMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.expected !== 'never') return issue.received === 'undefined' ? 'is required' : 'must be a mapping';
  return 'is not a known field';
}

const targetSchema = strict({
  provider: v.picklist(PROVIDERS, `must be one of ${PROVIDERS.join(', ')}`),
  region: v.pipe(v.string(REGION_RULE), v.regex(REGION_PATTERN, REGION_RULE)),
  account: v.optional(v.string("must be a quoted string of digits (e.g. '100000000001')")),
  appId: v.optional(
    v.pipe(
      v.string("must be a quoted string of 1–64 digits (e.g. '1250000000')"),
      v.regex(APPID_PATTERN, 'must be the APPID: 1–64 digits'),
    ),
  ),
});

const hhmm = v.pipe(
  v.string("must be a quoted time 'HH:MM' (24-hour)"),
  v.regex(HHMM, "must be a time 'HH:MM' from 00:00 to 23:59"),
);

const policySchema = strict({
  name: v.pipe(v.string('must be 1–64 of [A-Za-z0-9_.-]'), v.regex(NAME, 'must be 1–64 of [A-Za-z0-9_.-]')),
  mode: v.optional(v.picklist(['enforce', 'report'], 'must be enforce or report'), 'enforce'),
  enabled: v.optional(v.boolean('must be true or false'), true),
  notes: v.optional(v.pipe(v.string('must be text'), v.maxLength(1000, 'must be at most 1000 characters'))),
  target: targetSchema,
  match: v.pipe(
    strict({
      descriptionPrefix: v.optional(
        v.pipe(
          v.string('must be text'),
          v.check((s) => s.length >= 1 && s.length <= 256, 'must be 1–256 characters'),
        ),
      ),
      olderThanMinutes: v.optional(int(0, 525_600)),
    }),
    v.check(
      (m) => m.descriptionPrefix !== undefined || m.olderThanMinutes !== undefined,
      'must hold at least one condition (descriptionPrefix, olderThanMinutes)',
    ),
  ),
  window: v.optional(
    v.pipe(
      strict({
        timezone: v.pipe(
          v.string('must be an IANA time zone name such as Asia/Shanghai'),
          v.check(isTimeZone, 'must be an IANA time zone name such as Asia/Shanghai'),
        ),
        days: v.optional(
          v.pipe(
            v.array(v.picklist(DAYS, `must be one of ${DAYS.join(', ')}`), 'must be a list of days'),
            v.check((d) => d.length > 0, 'must list at least one day'),
            v.check((d) => new Set(d).size === d.length, 'must not repeat a day'),
          ),
        ),
        start: hhmm,
        end: hhmm,
      }),
      v.check((w) => w.start !== w.end, 'start and end must differ (an empty window never opens)'),
    ),
  ),
  confirm: v.optional(v.picklist(CONFIRM_MODES, 'must be window, always or never'), 'window'),
  priority: v.optional(
    v.pipe(
      strict({ open: v.optional(int(0, MAX_PRIORITY)), closed: v.optional(int(0, MAX_PRIORITY)) }),
      v.check((p) => p.open !== undefined || p.closed !== undefined, 'must set open, closed or both'),
    ),
  ),
  maxActive: v.optional(int(1, 10_000)),
  cancel: v.optional(
    v.pipe(
      strict({
        failedRatioAbove: v.optional(
          v.pipe(
            v.number('must be a number from 0 to 1'),
            v.check((n) => n >= 0 && n < 1, 'must be a fraction from 0 to below 1 (0.05 = 5%)'),
          ),
        ),
        afterTasks: v.optional(int(1, 1_000_000_000_000)),
        activeLongerThanMinutes: v.optional(int(1, 525_600)),
        suspendedLongerThanMinutes: v.optional(int(1, 525_600)),
      }),
      v.check(
        (c) => c.afterTasks === undefined || c.failedRatioAbove !== undefined,
        'afterTasks only qualifies failedRatioAbove, which is missing',
      ),
    ),
  ),
});

const minutesOf = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** A valibot issue → dotted field inside the policy; the rule for a check on a whole object. */
function fieldOf(issue: v.BaseIssue<unknown>): string {
  const keys = (issue.path ?? []).map((p) => String(p.key));
  return keys.join('.') || '(policy)';
}

/**
 * Parse and validate a policy file's text. Never throws; collects one error per policy (the first
 * offending field) and the file-level ones, so a single run shows every broken policy.
 */
export function parsePolicies(text: string, file = 'policies.yml'): PoliciesResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: PolicyError[] = [];
  const err = (policy: string, field: string, rule: string, offset?: number) => {
    const line = offset === undefined ? undefined : lines.linePos(offset).line;
    const where = line === undefined ? file : `${file}:${line}`;
    const who = policy === '(file)' ? '' : `policy ${policy}: `;
    errors.push({ policy, field, rule, line, message: `${where}: ${who}${field}: ${rule}` });
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors.slice(0, 10)) err('(file)', '(yaml)', e.message.split('\n')[0]!, e.pos[0]);
    return { ok: false, errors };
  }
  const root = doc.contents;
  const list = isMap(root) ? root.get('policies', true) : undefined;
  if (!isMap(root) || !isSeq(list)) {
    err(
      '(file)',
      'policies',
      'must be a list of policies under the top-level key `policies:`',
      root?.range?.[0],
    );
    return { ok: false, errors };
  }
  for (const pair of root.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    if (key !== 'policies') err('(file)', key, 'is not a known top-level field (only `policies`)');
  }
  if (list.items.length > MAX_POLICIES)
    err('(file)', 'policies', `must hold at most ${MAX_POLICIES} policies`);

  const policies: Policy[] = [];
  const seen = new Map<string, number>();
  list.items.forEach((node, i) => {
    const raw = (node as { toJSON?: () => unknown }).toJSON?.() ?? node;
    const offset = (node as { range?: [number, number, number] }).range?.[0];
    const named = raw && typeof raw === 'object' && typeof (raw as { name?: unknown }).name === 'string';
    const label =
      named && NAME.test((raw as { name: string }).name) ? (raw as { name: string }).name : `#${i}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      err(label, '(policy)', 'must be a mapping of fields', offset);
      return;
    }
    const r = v.safeParse(policySchema, raw, { abortEarly: true });
    if (!r.success) {
      const issue = r.issues[0];
      const field = fieldOf(issue);
      err(label, field, issue.message, offsetOf(node, field) ?? offset);
      return;
    }
    const p = r.output;
    const bad =
      targetRule(p.target) ??
      (seen.has(p.name)
        ? (['name', `must be unique in the file (also policy #${seen.get(p.name)})`] as const)
        : null);
    if (bad) {
      err(label, bad[0], bad[1], offsetOf(node, bad[0]) ?? offset);
      return;
    }
    seen.set(p.name, i);
    const line = offset === undefined ? undefined : lines.linePos(offset).line;
    const target: Target = { provider: p.target.provider, region: p.target.region };
    if (p.target.account !== undefined) target.account = p.target.account;
    if (p.target.appId !== undefined) target.appId = p.target.appId;
    policies.push({
      name: p.name,
      mode: p.mode,
      enabled: p.enabled,
      notes: p.notes,
      target,
      match: { descriptionPrefix: p.match.descriptionPrefix, olderThanMinutes: p.match.olderThanMinutes },
      window: p.window && {
        timezone: p.window.timezone,
        days: p.window.days ?? [...DAYS],
        start: minutesOf(p.window.start),
        end: minutesOf(p.window.end),
        startText: p.window.start,
        endText: p.window.end,
      },
      confirm: p.confirm,
      priority: p.priority,
      maxActive: p.maxActive,
      cancel: p.cancel,
      line,
    });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policies };
}

/** The provider's own rules for account and appId: [field, rule] of the first broken one. */
function targetRule(t: {
  provider: Target['provider'];
  account?: string | undefined;
  appId?: string | undefined;
}) {
  const rules = RULES[t.provider];
  if (t.account === undefined && rules.account.required)
    return ['target.account', `is required for ${t.provider} (${rules.account.rule})`] as const;
  if (t.account !== undefined && !rules.account.pattern.test(t.account))
    return ['target.account', `must be ${rules.account.rule}`] as const;
  if (t.appId === undefined && rules.appId.required)
    return ['target.appId', `is required for ${t.provider} (the APPID: 1–64 digits)`] as const;
  if (t.appId !== undefined && !rules.appId.required) return ['target.appId', 'is only used by cos'] as const;
  return null;
}

/** The source offset of `field` (dotted) inside a policy node, or of its nearest existing parent. */
function offsetOf(node: unknown, field: string): number | undefined {
  let cur = node as { get?: (k: unknown, keepScalar: boolean) => unknown; range?: [number, number, number] };
  let best = cur?.range?.[0];
  for (const key of field.split('.')) {
    if (!cur || typeof cur.get !== 'function') break;
    const k = /^\d+$/.test(key) && isSeq(cur) ? Number(key) : key;
    const next = cur.get(k, true) as typeof cur | undefined;
    if (!next) break;
    cur = next;
    best = cur.range?.[0] ?? best;
  }
  return best;
}

export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
  constructor(readonly errors: PolicyError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

/** Read and validate a policy file; throws PolicyFileError naming every broken policy. */
export async function loadPolicies(path: string): Promise<Policy[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new PolicyFileError([
      {
        policy: '(file)',
        field: '(file)',
        rule: `cannot be read (${code})`,
        message: `${path}: cannot be read (${code})`,
      },
    ]);
  }
  const r = parsePolicies(text, path);
  if (!r.ok) throw new PolicyFileError(r.errors);
  return r.policies;
}
