/**
 * The transition message: what a user puts on the requests queue or in a schedule's input.
 * Validation is the only gate between a message and a provider's hostname, path and headers,
 * so every rule of the contract is checked here, and a failure names the field and the rule.
 *
 * @example
 * const r = parseTransition(JSON.parse(body));
 * if (!r.ok) console.log(r.error.field, r.error.message); // "priority", "priority: must be an integer …"
 */
import * as v from 'valibot';
import {
  APPID_PATTERN,
  MAX_PRIORITY,
  MAX_REASON_BYTES,
  REGION_PATTERN,
  REGION_RULE,
  RULES,
} from '../providers/rules';
import {
  JOB_STATUSES,
  type JobStatus,
  PROVIDERS,
  REQUESTED_STATUSES,
  type RequestedJobStatus,
  type Target,
} from '../providers/types';

export const ACTIONS = ['UpdateJobStatus', 'UpdateJobPriority'] as const;
export type Action = (typeof ACTIONS)[number];

export const MAX_ID_CHARS = 128;
export const DEFAULT_SELECT_MAX = 1000;
export const MAX_SELECT_MAX = 100_000;

export interface Selector {
  /** Job statuses to list; all statuses when absent. */
  statuses?: JobStatus[];
  descriptionPrefix?: string;
  /** Only jobs created at least this many minutes before the transition is handled. */
  olderThanMinutes?: number;
  /** At most this many jobs (default 1000). */
  max?: number;
}

interface Common extends Target {
  id?: string;
  notAfter?: string;
  /** When it was asked for (ISO 8601 with offset): orders transitions of one job (lib/lambda/state.ts); the reconciler stamps its tick time. */
  requestedAt?: string;
}

export type Change =
  | { action: 'UpdateJobStatus'; requestedJobStatus: RequestedJobStatus; statusUpdateReason?: string }
  | { action: 'UpdateJobPriority'; priority: number };

/** A transition of one job: what the controller sends to a provider. */
export type JobTransition = Common & Change & { jobId: string };
/** A transition of every job a selector matches: fanned out into JobTransitions. */
export type SelectTransition = Common & Change & { select: Selector };
export type Transition = JobTransition | SelectTransition;

export interface InvalidField {
  /** Dotted path of the offending field (`select.statuses.0`), or `(message)` for the whole. */
  field: string;
  /** `<field>: <rule>`, safe to show: never echoes more than a short, escaped excerpt. */
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: InvalidField };

// ── field rules ─────────────────────────────────────────────────────────────────────────────

const utf8 = new TextEncoder();
const byteLength = (s: string) => utf8.encode(s).length;

/** Lone surrogates cannot be sent as UTF-8; they would be silently replaced by U+FFFD. */
const wellFormed = (s: string) => s.isWellFormed();
const noControl = (s: string) => !/[\u0000-\u001f\u007f-\u009f]/.test(s);

const text = (rule: string, ...checks: ((s: string) => boolean)[]) =>
  v.pipe(
    v.string(`must be a string (${rule})`),
    v.check((s) => checks.every((c) => c(s)), rule),
  );

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** The rule an ISO time field states when it is refused. */
export const ISO_WITH_OFFSET_RULE =
  'must be an ISO 8601 time with a UTC offset, e.g. 2026-11-24T06:00:00+08:00';

/**
 * An ISO 8601 date-time with an explicit offset that names a real instant. `Date.parse` is not
 * enough: it rolls `2026-02-30` over to March 2 and reads `T24:00` as the next midnight, so a
 * typo would silently move a deadline. Every field is checked against the calendar instead.
 */
export function isIsoWithOffset(s: string): boolean {
  const m = ISO_WITH_OFFSET.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second = 0, offH = 0, offM = 0] = m
    .slice(1)
    .map((x) => (x === undefined ? undefined : Number(x))) as number[];
  if (month! < 1 || month! > 12) return false;
  if (day! < 1 || day! > daysInMonth(year!, month!)) return false;
  if (hour! > 23 || minute! > 59 || second > 59) return false;
  return offH <= 23 && offM <= 59;
}

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one (UTC, so no local-time surprises).
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A valibot field for such a time: `notAfter` now, `requestedAt` later. */
export const isoWithOffsetField = () => text(ISO_WITH_OFFSET_RULE, isIsoWithOffset);

const selectorSchema = v.strictObject(
  {
    statuses: v.optional(
      v.pipe(
        v.array(
          v.picklist(JOB_STATUSES, `must be one of ${JOB_STATUSES.join(', ')}`),
          'must be an array of statuses',
        ),
        v.check((a) => a.length > 0 && a.length <= JOB_STATUSES.length, 'must list 1–13 statuses'),
      ),
    ),
    descriptionPrefix: v.optional(
      text('must be 1–256 bytes of UTF-8 text without control characters', wellFormed, noControl, (s) => {
        const n = byteLength(s);
        return n >= 1 && n <= 256;
      }),
    ),
    olderThanMinutes: v.optional(
      v.pipe(
        v.number('must be a number of minutes'),
        v.check((n) => Number.isInteger(n) && n >= 0 && n <= 525_600, 'must be an integer from 0 to 525600'),
      ),
    ),
    max: v.optional(
      v.pipe(
        v.number(`must be an integer from 1 to ${MAX_SELECT_MAX}`),
        v.check(
          (n) => Number.isInteger(n) && n >= 1 && n <= MAX_SELECT_MAX,
          `must be an integer from 1 to ${MAX_SELECT_MAX}`,
        ),
      ),
    ),
  },
  objectMessage,
);

const messageSchema = v.strictObject(
  {
    id: v.optional(
      text(`must be 1–${MAX_ID_CHARS} characters without control characters`, wellFormed, noControl, (s) => {
        return s.length >= 1 && s.length <= MAX_ID_CHARS;
      }),
    ),
    provider: v.picklist(PROVIDERS, `must be one of ${PROVIDERS.join(', ')}`),
    region: text(REGION_RULE, (s) => REGION_PATTERN.test(s)),
    account: v.optional(v.string('must be a string of digits')),
    appId: v.optional(text('must be the APPID: 1–64 digits', (s) => APPID_PATTERN.test(s))),
    jobId: v.optional(v.string('must be a string')),
    select: v.optional(v.unknown()),
    action: v.picklist(ACTIONS, `must be one of ${ACTIONS.join(', ')}`),
    requestedJobStatus: v.optional(v.picklist(REQUESTED_STATUSES, 'must be Ready or Cancelled')),
    statusUpdateReason: v.optional(
      text(
        `must be at most ${MAX_REASON_BYTES} bytes of UTF-8`,
        wellFormed,
        (s) => byteLength(s) <= MAX_REASON_BYTES,
      ),
    ),
    priority: v.optional(
      v.pipe(
        v.number(`must be an integer from 0 to ${MAX_PRIORITY}, not a string`),
        v.check(
          (n) => Number.isInteger(n) && n >= 0 && n <= MAX_PRIORITY,
          `must be an integer from 0 to ${MAX_PRIORITY}`,
        ),
      ),
    ),
    notAfter: v.optional(isoWithOffsetField()),
    requestedAt: v.optional(isoWithOffsetField()),
  },
  objectMessage,
);

/**
 * A field name as it may be shown: an unknown key comes from the message itself and could be
 * huge or hold control characters, so it is cut to 64 characters and escaped.
 */
function safeName(name: string): string {
  const cut = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  return wellFormed(cut) && noControl(cut) ? cut : JSON.stringify(cut.toWellFormed()).slice(1, -1);
}

/** strictObject reports both unknown keys (expected "never") and missing required keys. */
function objectMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.expected !== 'never') return 'is required';
  const key = issue.path?.at(-1)?.key;
  return `unknown field ${JSON.stringify(
    String(key ?? issue.input)
      .slice(0, 40)
      .toWellFormed(),
  )}`;
}

function issueToField(issue: v.BaseIssue<unknown>, prefix = ''): InvalidField {
  const path = v.getDotPath(issue);
  const field = safeName(prefix + (path ?? '')) || '(message)';
  // Unknown keys: valibot reports them at the key's own path; say so plainly.
  return { field, message: `${field}: ${issue.message}` };
}

const fail = (field: string, rule: string): { ok: false; error: InvalidField } => ({
  ok: false,
  error: { field, message: `${field}: ${rule}` },
});

/**
 * Validate one decoded message. Never throws: any input, however hostile, becomes either a
 * Transition or the first offending field.
 */
export function parseTransition(input: unknown): ParseResult<Transition> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return fail('(message)', 'must be a JSON object');

  const parsed = v.safeParse(messageSchema, input, { abortEarly: true });
  if (!parsed.success) return { ok: false, error: issueToField(parsed.issues[0]) };
  const m = parsed.output;
  const rules = RULES[m.provider];

  if (m.account === undefined) {
    if (rules.account.required)
      return fail('account', `is required for ${m.provider} (${rules.account.rule})`);
  } else if (!rules.account.pattern.test(m.account)) {
    return fail('account', `must be ${rules.account.rule}`);
  }
  if (m.appId === undefined) {
    if (rules.appId.required) return fail('appId', `is required for ${m.provider} (the APPID: 1–64 digits)`);
  } else if (!rules.appId.required) {
    return fail('appId', `is only used by cos`);
  }

  if ((m.jobId === undefined) === (m.select === undefined))
    return fail(m.jobId === undefined ? 'jobId' : 'select', 'exactly one of jobId or select is required');
  let select: Selector | undefined;
  if (m.jobId !== undefined) {
    if (!rules.jobId.pattern.test(m.jobId))
      return fail('jobId', `must be ${rules.jobId.rule} for ${m.provider}`);
  } else {
    if (typeof m.select !== 'object' || m.select === null || Array.isArray(m.select))
      return fail(
        'select',
        'must be an object like {"statuses":["Suspended"],"descriptionPrefix":"nightly-"}',
      );
    const s = v.safeParse(selectorSchema, m.select, { abortEarly: true });
    if (!s.success) return { ok: false, error: issueToField(s.issues[0], 'select.') };
    select = s.output;
  }

  const base: Common = { provider: m.provider, region: m.region };
  if (m.id !== undefined) base.id = m.id;
  if (m.account !== undefined) base.account = m.account;
  if (m.appId !== undefined) base.appId = m.appId;
  if (m.notAfter !== undefined) base.notAfter = m.notAfter;
  if (m.requestedAt !== undefined) base.requestedAt = m.requestedAt;
  const where = select ? { select } : { jobId: m.jobId as string };

  if (m.action === 'UpdateJobStatus') {
    if (m.requestedJobStatus === undefined)
      return fail('requestedJobStatus', 'is required for UpdateJobStatus (Ready or Cancelled)');
    if (m.priority !== undefined) return fail('priority', 'is only used by UpdateJobPriority');
    const change: Change = { action: 'UpdateJobStatus', requestedJobStatus: m.requestedJobStatus };
    if (m.statusUpdateReason !== undefined && m.statusUpdateReason !== '')
      change.statusUpdateReason = m.statusUpdateReason;
    return { ok: true, value: { ...base, ...change, ...where } };
  }
  if (m.priority === undefined)
    return fail('priority', `is required for UpdateJobPriority (an integer from 0 to ${MAX_PRIORITY})`);
  if (m.requestedJobStatus !== undefined)
    return fail('requestedJobStatus', 'is only used by UpdateJobStatus');
  if (m.statusUpdateReason !== undefined)
    return fail('statusUpdateReason', 'is only used by UpdateJobStatus');
  return { ok: true, value: { ...base, action: 'UpdateJobPriority', priority: m.priority, ...where } };
}

/** Decode a raw queue body and validate it. */
export function parseTransitionBody(body: string): ParseResult<Transition> {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch (e) {
    return fail('(message)', `is not valid JSON (${(e as Error).message.slice(0, 120)})`);
  }
  return parseTransition(input);
}

export const isSelect = (t: Transition): t is SelectTransition => 'select' in t;

export function targetOf(t: Transition): Target {
  return { provider: t.provider, region: t.region, account: t.account, appId: t.appId };
}

/** The message form of a transition (what goes on the queue), without undefined fields. */
export function toMessage(t: Transition): Record<string, unknown> {
  return JSON.parse(JSON.stringify(t));
}
