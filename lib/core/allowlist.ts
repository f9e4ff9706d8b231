/**
 * `JOBCTL_ALLOWED_TARGETS`: which provider accounts and regions this controller may touch.
 * A safety net against a message (or a schedule typo) aimed at someone else's jobs: a target
 * outside the list is rejected before any request is built.
 *
 * Patterns are comma-separated `provider:account[@region]`; each part may use `*`
 * (`cos:100000000001@ap-*`, `oss:*@cn-hangzhou`, `s3:123456789012`). A lone `*` allows everything.
 */
import type { Target } from '../providers/types';

export interface Allowlist {
  /** The configured patterns, for messages. */
  readonly patterns: readonly string[];
  allows(target: Target): boolean;
}

interface Pattern {
  provider: RegExp;
  account: RegExp;
  region: RegExp;
}

const glob = (s: string) => new RegExp(`^${s.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);

export function parseAllowlist(spec: string | undefined): Allowlist {
  if (spec === undefined || spec.trim() === '') return { patterns: [], allows: () => true };
  const patterns = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const compiled: Pattern[] = patterns.map((p) => {
    if (p === '*') return { provider: /.*/, account: /.*/, region: /.*/ };
    const m = /^([a-z0-9*]+):([0-9*]*)(?:@([a-z0-9*-]+))?$/.exec(p);
    if (!m) throw new Error(`JOBCTL_ALLOWED_TARGETS: ${JSON.stringify(p)} is not provider:account[@region]`);
    return { provider: glob(m[1]!), account: glob(m[2] || '*'), region: glob(m[3] ?? '*') };
  });
  return {
    patterns,
    allows: (t) =>
      compiled.some(
        (p) => p.provider.test(t.provider) && p.account.test(t.account ?? '') && p.region.test(t.region),
      ),
  };
}
