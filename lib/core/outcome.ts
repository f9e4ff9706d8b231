/**
 * The outcome taxonomy, in one place: what each kind means, what happens to the message that
 * carried it, and what `jobctl apply` exits with. Every outcome is built by the constructors
 * here, and every thrown error is read by `classify` here, so the SQS function, the schedule's
 * fan-out and `jobctl apply` cannot drift apart on what a failure means.
 */
import { ProviderError } from '../providers/errors';
import { RetriesExhausted } from './retry';

export const OUTCOME_KINDS = [
  'applied',
  'unchanged',
  'rejected',
  'invalid',
  'expired',
  'superseded',
  'failed',
] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

/** Terminal kinds end a transition for good: its message is deleted. `failed` goes back to the queue. */
export const isTerminal = (k: OutcomeKind): boolean => k !== 'failed';

/** `jobctl apply`'s exit code for a set of outcomes: the worst kind wins. */
export function exitCodeFor(kinds: Iterable<OutcomeKind>): number {
  let code = 0;
  for (const k of kinds) code = Math.max(code, EXIT[k]);
  return code;
}
const EXIT: Record<OutcomeKind, number> = {
  applied: 0,
  unchanged: 0,
  invalid: 2,
  rejected: 3,
  expired: 3,
  superseded: 3,
  failed: 4,
};

export type Trigger =
  | { type: 'sqs'; messageId: string }
  | { type: 'schedule'; schedule: string; fireTime: string }
  | { type: 'cli' };

export interface OutcomeError {
  code: string;
  message: string;
  httpStatus: number | null;
  requestId: string | null;
  /** For `invalid`: the offending field. */
  field?: string;
  /** OSS's diagnostic code. */
  ec?: string;
}

export interface Outcome extends Subject {
  outcome: OutcomeKind;
  /** The job's status as last seen (the provider's answer or a DescribeJob). */
  status: string | null;
  priority: number | null;
  error: OutcomeError | null;
  attempts: number;
  trigger: Trigger;
  startedAt: string;
  finishedAt: string;
  /** For `invalid` only: the body as received, first 8 KiB. */
  raw?: string;
}

export const RAW_LIMIT_BYTES = 8 * 1024;

/** The first 8 KiB of a body, cut on a character boundary. */
export function truncateRaw(body: string): string {
  return cutUtf8(body, RAW_LIMIT_BYTES);
}

/** At most `limit` bytes of `s` as UTF-8, never splitting a character. */
export function cutUtf8(s: string, limit: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= limit) return s;
  // Back off to the start of a UTF-8 sequence so the cut never splits a character.
  let end = limit;
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

// ── errors ──────────────────────────────────────────────────────────────────────────────────

/**
 * A transition refused by jobctl's own policy before anything is sent: a target outside
 * JOBCTL_ALLOWED_TARGETS, a `notAfter` already past. Not a provider's answer, so not a
 * ProviderError (which would claim an HTTP exchange that never happened).
 */
export class PolicyRefusal extends Error {
  override readonly name = 'PolicyRefusal';
  constructor(
    readonly code: 'TargetNotAllowed' | 'Expired',
    message: string,
  ) {
    super(message);
  }
}

/** The target named in a TargetNotAllowed refusal (never more than the target itself). */
export const targetNotAllowed = (t: { provider: string; account?: string | undefined; region: string }) =>
  new PolicyRefusal(
    'TargetNotAllowed',
    `${t.provider}:${t.account ?? ''}@${t.region} is not in JOBCTL_ALLOWED_TARGETS`,
  );

export const expiredRefusal = (notAfter: string) =>
  new PolicyRefusal('Expired', `handled after notAfter ${notAfter}`);

/**
 * What a thrown error means for its message:
 * - `retryable`: transient trouble (or retries outlived): the message stays and is tried again;
 * - `refused`: refused for good by the provider or by policy: the message is done;
 * - `configuration`: our side is not set up, or a bug: the message stays for a fix, then the DLQ.
 */
export type ErrorClass = 'retryable' | 'refused' | 'configuration';

export function classify(e: unknown): ErrorClass {
  if (e instanceof RetriesExhausted) return 'retryable';
  if (e instanceof PolicyRefusal) return 'refused';
  if (e instanceof ProviderError) {
    if (e.kind === 'config') return 'configuration';
    return e.retryable ? 'retryable' : 'refused';
  }
  return 'configuration';
}

/** The outcome error for anything thrown; `fallbackCode` names what is neither provider nor policy. */
export function errorOf(e: unknown, fallbackCode = 'InternalError'): OutcomeError {
  if (e instanceof RetriesExhausted) return errorFromProvider(e.last);
  if (e instanceof ProviderError) return errorFromProvider(e);
  if (e instanceof PolicyRefusal)
    return { code: e.code, message: e.message, httpStatus: null, requestId: null };
  return errorFromUnknown(e, fallbackCode);
}

/** The kind an error ends a transition with: refused → rejected (or expired), else failed. */
export function kindOf(e: unknown): OutcomeKind {
  if (e instanceof PolicyRefusal && e.code === 'Expired') return 'expired';
  return classify(e) === 'refused' ? 'rejected' : 'failed';
}

export function errorFromProvider(e: ProviderError): OutcomeError {
  const out: OutcomeError = {
    code: e.code,
    message: e.message,
    httpStatus: e.httpStatus,
    requestId: e.requestId,
  };
  if (e.ec) out.ec = e.ec;
  return out;
}

/** Anything thrown that is not a ProviderError: a bug or an environment fault, never a secret. */
export function errorFromUnknown(e: unknown, code = 'InternalError'): OutcomeError {
  const message = e instanceof Error ? e.message : String(e);
  return { code, message: message.slice(0, 500), httpStatus: null, requestId: null };
}

// ── constructors ────────────────────────────────────────────────────────────────────────────

/** What an outcome is about; null where an invalid message did not say. */
export interface Subject {
  id: string;
  provider: string | null;
  region: string | null;
  account: string | null;
  jobId: string | null;
  action: string | null;
}

/** Who asked and when: everything an outcome carries besides its verdict. */
export interface Frame {
  subject: Subject;
  trigger: Trigger;
  startedAt: string;
  finishedAt: string;
}

interface Seen {
  status?: string | null | undefined;
  priority?: number | null | undefined;
  attempts?: number | undefined;
}

function build(kind: OutcomeKind, f: Frame, seen: Seen, error: OutcomeError | null): Outcome {
  // The contract's field order, so that outcome lines read the same everywhere.
  return {
    ...f.subject,
    outcome: kind,
    status: seen.status ?? null,
    priority: seen.priority ?? null,
    error,
    attempts: seen.attempts ?? 0,
    trigger: f.trigger,
    startedAt: f.startedAt,
    finishedAt: f.finishedAt,
  };
}

export const applied = (f: Frame, seen: Seen): Outcome => build('applied', f, seen, null);
export const unchanged = (f: Frame, seen: Seen): Outcome => build('unchanged', f, seen, null);
export const rejected = (f: Frame, error: OutcomeError, seen: Seen = {}): Outcome =>
  build('rejected', f, seen, error);
export const failed = (f: Frame, error: OutcomeError, seen: Seen = {}): Outcome =>
  build('failed', f, seen, error);
export const expired = (f: Frame, notAfter: string): Outcome =>
  build('expired', f, {}, errorOf(expiredRefusal(notAfter)));

/** Nothing sent: a newer transition (`newerId`) already applied to the same job and attribute. */
export const superseded = (f: Frame, newerId: string, seen: Seen = {}): Outcome =>
  build('superseded', f, seen, {
    code: 'Superseded',
    message: `superseded by the newer transition ${newerId}`,
    httpStatus: null,
    requestId: null,
  });

/** A body that is not a valid transition: the field and rule, and the body's first 8 KiB. */
export function invalid(f: Frame, error: { field: string; message: string }, body: string): Outcome {
  return {
    ...build(
      'invalid',
      f,
      {},
      {
        code: 'InvalidTransition',
        message: error.message,
        field: error.field,
        httpStatus: null,
        requestId: null,
      },
    ),
    raw: truncateRaw(body),
  };
}

/** Any thrown error as the outcome it ends its transition with (see `classify`). */
export function fromError(f: Frame, e: unknown, seen: Seen = {}, fallbackCode = 'InternalError'): Outcome {
  return build(kindOf(e), f, seen, errorOf(e, fallbackCode));
}
