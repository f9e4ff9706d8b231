/**
 * Query-parameter rules the three providers share (the limits in docs/reference.md); each provider's
 * operations turn a `false`/`undefined` here into its own error code and message.
 */
import { MAX_PRIORITY, MAX_REASON_BYTES } from '../../providers/rules';
import { JOB_STATUSES, type JobStatus } from '../../providers/types';
import type { QueryParams } from './types';

export const MAX_DESCRIPTION_CHARS = 256;

/** A priority as sent on the wire: digits only (no sign, no exponent), 0–2147483647. */
export function parsePriority(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^[0-9]{1,10}$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return n <= MAX_PRIORITY ? n : undefined;
}

export function reasonFits(reason: string): boolean {
  return Buffer.byteLength(reason, 'utf8') <= MAX_REASON_BYTES;
}

/**
 * A status filter from every value of `name`, each possibly a list: S3 repeats the parameter,
 * COS clients send either form, OSS documents `Active|Cancelled`. `null` when any entry is not a status.
 */
export function parseStatuses(query: QueryParams, name: string): JobStatus[] | null {
  const out: JobStatus[] = [];
  for (const value of query.getAll(name)) {
    for (const part of value.split(/[,|]/)) {
      const s = part.trim();
      if (s === '') continue;
      if (!(JOB_STATUSES as readonly string[]).includes(s)) return null;
      out.push(s as JobStatus);
    }
  }
  return out;
}

/** A page size within `[min, max]`, the default when absent, `undefined` when malformed. */
export function parsePageSize(
  raw: string | undefined,
  min: number,
  max: number,
  dflt: number,
): number | undefined {
  if (raw === undefined || raw === '') return dflt;
  if (!/^[0-9]{1,7}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

/** ISO 8601 in UTC, as COS and S3 return timestamps. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Epoch seconds, as OSS documents its timestamps (`1749983400`). */
export const epochSeconds = (ms: number | null): number | null =>
  ms === null ? null : Math.floor(ms / 1000);

/** `true`/`false` in a request body; anything else is undefined. */
export function parseBool(v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim().toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : undefined;
}
