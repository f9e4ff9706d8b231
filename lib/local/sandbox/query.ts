/**
 * The raw query string as the signers and operations need it: order and bare keys preserved
 * (`?batchJob&batchJobId=…` — OSS signs `batchJob` without `=`), values percent-decoded.
 */
import type { QueryParams } from './types';

export interface QueryEntry {
  key: string;
  /** `null` for a bare key (no `=`). */
  value: string | null;
}

function decode(s: string): string {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus; // malformed escapes are taken literally rather than failing the request
  }
}

export function parseQuery(rawQuery: string): QueryEntry[] {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0
        ? { key: decode(part), value: null }
        : { key: decode(part.slice(0, eq)), value: decode(part.slice(eq + 1)) };
    });
}

export function queryParams(entries: readonly QueryEntry[]): QueryParams {
  return {
    get: (name) => {
      const e = entries.find((x) => x.key === name);
      return e === undefined ? undefined : (e.value ?? '');
    },
    getAll: (name) => entries.filter((x) => x.key === name).map((x) => x.value ?? ''),
    has: (name) => entries.some((x) => x.key === name),
  };
}
