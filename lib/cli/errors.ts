/**
 * Errors a person meets at the command line, in words that say what to do: a refused connection
 * names the endpoint and the likely fix (settings exported from a `jobctl run` that has stopped).
 */

/** True when the error is a write to a pipe whose reader has gone. */
export function isBrokenPipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

const FIX =
  'is `jobctl run` (or `jobctl sandbox`) running? Start it, then re-export the KEY=value lines it prints ' +
  '(set -a; . .jobctl/env; set +a)';

/**
 * When `e` (or its cause, as the AWS SDK and undici wrap it) is a refused connection, the
 * sentence to print; otherwise undefined.
 */
export function connectionRefused(e: unknown): string | undefined {
  for (
    let c = e as (Error & { code?: string; cause?: unknown; address?: string; port?: number }) | undefined,
      n = 0;
    c && n < 5;
    n++
  ) {
    const code = c.code ?? (c as { errno?: string }).errno;
    if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(c.message ?? '')) {
      const where =
        c.address !== undefined && c.port !== undefined
          ? `${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}`
          : (/ECONNREFUSED ([^\s]+)/.exec(c.message ?? '')?.[1] ?? 'the configured endpoint');
      return `nothing is listening at ${where} (connection refused): ${FIX}`;
    }
    c = c.cause as typeof c;
  }
  return undefined;
}

/** A refused connection to a named endpoint (the queue, a provider), for checks made before use. */
export function refusedAt(endpoint: string, variable: string): string {
  return `${variable}=${endpoint}: nothing is listening there (connection refused); ${FIX}`;
}
