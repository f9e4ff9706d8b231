/**
 * How commands print data: a compact table or line for a person at a terminal, JSON (one object
 * per line) for a pipe or with `--json`, so `jobctl results | jq` works without a flag.
 */
import type { Outcome } from '../core/outcome';
import { offsetMs } from '../core/zone';
import type { ResultRecord } from '../lambda/publisher';
import type { Io } from './command';

/** JSON unless a person is reading: `--json`, or stdout is not a terminal. */
export const wantJson = (io: Io, flag: boolean | undefined): boolean =>
  flag === true || io.stdout.isTTY !== true;

/** Columns padded to their widest cell; the last column is never padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The first `n` characters and an ellipsis: long job ids in a line. */
export const head = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n)}…`);

/** Start and end of a long id (`nightly-2026…/53dc6228`): the end is usually the job. */
export function middle(s: string, first = 12, last = 9): string {
  return s.length <= first + last + 1 ? s : `${s.slice(0, first)}…${s.slice(-last)}`;
}

/** One results-queue record as a terminal line: kind, target, job, what happened, id. */
export function recordLine(r: ResultRecord): string {
  if ('type' in r && r.type === 'fanout') {
    const what = r.error
      ? r.error.code
      : `matched ${r.matched}, enqueued ${r.enqueued}${r.failed ? `, ${r.failed} not enqueued` : ''}${r.truncated ? ' (max reached)' : ''}`;
    return [
      'fanout'.padEnd(9),
      r.provider.padEnd(3),
      (r.account ?? r.region).padEnd(12),
      'select'.padEnd(9),
      what.padEnd(10),
      middle(r.id),
    ].join(' ');
  }
  const o = r as Outcome;
  const detail =
    o.error?.code ??
    (o.action === 'UpdateJobPriority' && o.priority !== null ? `priority ${o.priority}` : (o.status ?? '-'));
  return [
    o.outcome.padEnd(9),
    (o.provider ?? '-').padEnd(3),
    (o.account ?? o.region ?? '-').padEnd(12),
    head(o.jobId ?? '-', 8).padEnd(9),
    detail.padEnd(10),
    middle(o.id),
  ].join(' ');
}

/**
 * `2026-11-25 01:00 +08:00`: an instant as the wall time of a time zone, with its offset — the
 * time a schedule's author wrote its expression in. `jobctl schedules` and the live view of
 * `jobctl run` both show fire times this way.
 */
export function wallTime(iso: string, timezone: string): string {
  const t = Date.parse(iso);
  const offset = offsetMs(t, timezone);
  const wall = new Date(t + offset).toISOString().slice(0, 16).replace('T', ' ');
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset) / 60_000;
  return `${wall} ${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
