/**
 * What `jobctl sandbox` prints: the endpoints and credentials as `KEY=value` lines, ready for
 * `export $(jobctl sandbox --print-env)` or an `.env` file. The CLI command itself lives in lib/cli.
 */
import type { Sandbox } from './server';

/** Values are plain (URLs, key ids, secrets without spaces); anything else would be quoted. */
export function sandboxEnvLines(sb: Pick<Sandbox, 'env'>): string[] {
  return Object.entries(sb.env).map(
    ([k, v]) => `${k}=${/^[A-Za-z0-9_./:@+=,-]*$/.test(v) ? v : shellQuote(v)}`,
  );
}

function shellQuote(v: string): string {
  return `'${v.replaceAll("'", `'\\''`)}'`;
}
