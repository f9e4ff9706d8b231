/**
 * The outcome taxonomy, in one place: what each kind means, what happens to the message that
 * carried it, and what `jobctl apply` exits with. Everything that reports a result builds it here.
 */
import type { ProviderError } from './providers/errors';

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

export interface Outcome {
  id: string;
  provider: string | null;
  region: string | null;
  account: string | null;
  jobId: string | null;
  action: string | null;
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
  const buf = Buffer.from(body, 'utf8');
  if (buf.length <= RAW_LIMIT_BYTES) return body;
  // Back off to the start of a UTF-8 sequence so the cut never splits a character.
  let end = RAW_LIMIT_BYTES;
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
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
