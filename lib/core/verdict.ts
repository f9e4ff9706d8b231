/**
 * How a job ended, and what about a watched job is worth a ledger write. Pure: the ledger
 * (lib/lambda/ledger.ts) reads and writes; this decides. Kept apart so the rules are one table
 * a reader can check against the README, and so a tick's cost follows from `diff` alone.
 */

export const VERDICTS = ['succeeded', 'partial', 'failed', 'cancelled'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Statuses after which a job never changes again. */
export const FINAL_STATUSES = ['Complete', 'Failed', 'Cancelled'] as const;
export const isFinal = (status: string): boolean => (FINAL_STATUSES as readonly string[]).includes(status);

export interface Progress {
  total: number;
  succeeded: number;
  failed: number;
}

/**
 * `Complete` only means the job finished, not that every object succeeded (Alibaba's own words):
 * a failed task makes it `partial`. Null for a status that is not final.
 */
export function verdictOf(status: string, progress: Progress | null | undefined): Verdict | null {
  switch (status) {
    case 'Complete':
      return (progress?.failed ?? 0) > 0 ? 'partial' : 'succeeded';
    case 'Failed':
      return 'failed';
    case 'Cancelled':
      return 'cancelled';
    default:
      return null;
  }
}

/** What the ledger last recorded about a watched job. */
export interface Known {
  status: string;
  progress: Progress | null;
  settled: Verdict | null;
}

/** What the provider says now. */
export interface Seen {
  status: string;
  progress: Progress | null;
}

export type Change =
  | { kind: 'none' }
  /** The status moved: recorded with the progress at that moment. */
  | { kind: 'status'; from: string; to: string; progress: Progress | null }
  /** Reached a final status: recorded and settled, once. */
  | { kind: 'settle'; from: string; to: string; progress: Progress | null; verdict: Verdict };

/**
 * Status changes only. Progress alone is not a change: an Active job's counts move every tick,
 * and recording them would turn a quiet tick into one write per running job — the cost rule of
 * issue 17 (no writes when nothing changed) would then only hold for idle fleets. The progress is
 * captured with every status change, and the final counts with the verdict.
 */
export function diff(known: Known, seen: Seen): Change {
  if (known.settled !== null) return { kind: 'none' };
  const verdict = verdictOf(seen.status, seen.progress);
  if (verdict !== null)
    return { kind: 'settle', from: known.status, to: seen.status, progress: seen.progress, verdict };
  if (seen.status === known.status) return { kind: 'none' };
  return { kind: 'status', from: known.status, to: seen.status, progress: seen.progress };
}
