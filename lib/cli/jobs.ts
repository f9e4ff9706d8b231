/**
 * Reading jobs for `jobctl describe` and `jobctl list`: provider calls with the controller's retry
 * policy, failures turned into the exit codes `apply` uses for the same situations, and the
 * job table.
 */
import { classify } from '../core/outcome';
import { RetriesExhausted, type RetryPolicy, realRetryEnv, withRetry } from '../core/retry';
import { ProviderError } from '../providers/errors';
import type { CallOptions, Job } from '../providers/types';
import { type Io, writeLine } from './command';
import { connectionRefused } from './errors';
import { head, table } from './format';

/** One read, retried like the controller retries (throttling, 5xx, timeouts). */
export async function withRetries<T>(policy: RetryPolicy, fn: (o: CallOptions) => Promise<T>): Promise<T> {
  const r = await withRetry((timeoutMs) => fn({ timeoutMs }), policy, realRetryEnv);
  return r.value;
}

/**
 * A provider failure as a message on stderr and an exit code: 3 refused (NoSuchJob, AccessDenied,
 * …), 4 transient trouble that outlived the retries, 1 our own configuration. Anything else is
 * rethrown (the command line prints it, exit 1).
 */
export function providerFailure(io: Io, name: string, e: unknown): number {
  const pe = e instanceof RetriesExhausted ? e.last : e instanceof ProviderError ? e : undefined;
  if (!pe) throw e;
  const where = [
    pe.httpStatus !== null ? `HTTP ${pe.httpStatus}` : null,
    pe.requestId ? `request id ${pe.requestId}` : null,
  ].filter(Boolean);
  const refused = connectionRefused(pe);
  writeLine(
    io.stderr,
    `jobctl ${name}: ${refused ?? `${pe.code}: ${pe.message}${where.length ? ` (${where.join(', ')})` : ''}`}`,
  );
  const exit = { retryable: 4, refused: 3, configuration: 1 } as const;
  return exit[classify(e)];
}

export const EXIT_HELP = `exit codes: 0 done, 2 bad options (a flag that breaks a message rule is named),
            3 refused by the provider (NoSuchJob, AccessDenied, …),
            4 transient trouble (throttling, 5xx, timeouts) outlived the retries, 1 anything else`;

/** Creation time as `2026-11-24 06:00Z`: enough to tell jobs apart at a glance. */
const when = (iso: string | null) =>
  iso ? iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, '$2') : '-';

export function jobTable(jobs: readonly Job[]): string[] {
  return table(
    ['JOB ID', 'STATUS', 'PRIORITY', 'CREATED', 'DESCRIPTION'],
    jobs.map((j) => [
      head(j.jobId, 44),
      j.status,
      j.priority === null ? '-' : String(j.priority),
      when(j.creationTime),
      j.description ?? '',
    ]),
  );
}

export function jobDetails(j: Job): string[] {
  return table(
    ['job', j.jobId],
    [
      ['status', j.status],
      ['priority', j.priority === null ? '-' : String(j.priority)],
      ['description', j.description ?? '-'],
      ['created', j.creationTime ?? '-'],
      ['reason', j.statusUpdateReason ?? '-'],
    ],
  );
}
