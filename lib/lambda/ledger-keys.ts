/**
 * The ledger's item keys (docs: /work/notes/TABLE.md, README § The ledger). One place, so the
 * writer (ledger.ts), the reader (history.ts) and `jobctl history` can never spell a key two ways.
 */
import { createHash } from 'node:crypto';

/** Where a job lives, as the ledger keys it. Account and appId are `-` when a provider has none. */
export interface LedgerTarget {
  provider: string;
  region: string;
  account?: string | null | undefined;
  appId?: string | null | undefined;
}

export const targetKey = (t: LedgerTarget): string =>
  `${t.provider}#${t.account || '-'}#${t.region}#${t.appId || '-'}`;

export const jobKey = (t: LedgerTarget, jobId: string): string => `${targetKey(t)}#${jobId}`;

export const jobPk = (t: LedgerTarget, jobId: string): string => `JOB#${jobKey(t, jobId)}`;
export const META_SK = 'META';
/** One small item per target that ever had a watched job: how `watchedOutside` finds them without a Scan. */
export const TARGETS_PK = 'TARGETS';

export type EventKind = 'outcome' | 'status' | 'settled' | 'closed';

/**
 * An event's sort key. `tag` makes it deterministic for the thing recorded (an outcome id, a META
 * version), so a retried write lands on the same item instead of adding a second one.
 */
export const eventSk = (at: string, kind: EventKind, tag: string): string =>
  `EV#${at}#${kind}#${createHash('sha256').update(tag).digest('hex').slice(0, 12)}`;

export const policyPk = (policy: string): string => `POLICY#${policy}`;

/**
 * byTarget sort key. While a job is followed (or its verdict not yet published) it is
 * `OPEN#<jobId>`, so a tick reads exactly the target's open jobs with one key-range Query — no
 * filter paying for the settled ones kept 400 days. Once settled or closed: `<ISO time>#<jobId>`.
 * `O` sorts after every ISO year, so newest-first lists open jobs before finished ones.
 */
export const OPEN_PREFIX = 'OPEN#';
export const openSk = (jobId: string): string => `${OPEN_PREFIX}${jobId}`;
export const datedSk = (at: string, jobId: string): string => `${at}#${jobId}`;
export const targetPk = (t: LedgerTarget): string => `TARGET#${targetKey(t)}`;

/** Retention: JOBCTL_LEDGER_RETENTION_DAYS, default 400 (beyond the providers' 90 days). */
export function retentionDaysFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.JOBCTL_LEDGER_RETENTION_DAYS;
  if (raw === undefined || raw === '') return 400;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 3650)
    throw new Error('JOBCTL_LEDGER_RETENTION_DAYS must be an integer from 1 to 3650');
  return n;
}

/** DynamoDB TTL is epoch seconds. */
export const expiresAt = (nowMs: number, days: number): number => Math.floor(nowMs / 1000) + days * 86_400;
