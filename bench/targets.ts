/** The sandbox's example targets (CONTRACT.md), as the benchmarks address them, and fresh jobs under them. */

import { newJobId } from '../lib/local/sandbox/ids';
import type { JobStore } from '../lib/local/sandbox/server';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import type { ProviderName } from '../lib/providers/types';

export const TARGETS = {
  cos: EXAMPLE_TARGETS.cos,
  oss: EXAMPLE_TARGETS.oss,
  s3: EXAMPLE_TARGETS.s3,
} as const;

/** `n` new Suspended jobs in the provider's example namespace; their ids, in order. */
export function seedFresh(store: JobStore, provider: ProviderName, n: number): string[] {
  const t = TARGETS[provider];
  const ids = Array.from({ length: n }, () => newJobId(provider));
  store.seed(
    ids.map((jobId) => ({
      provider,
      jobId,
      status: 'Suspended' as const,
      description: 'bench-',
      region: t.region,
      ...('appId' in t ? { appId: t.appId } : {}),
      ...('account' in t ? { account: t.account } : {}),
    })),
    newJobId,
  );
  return ids;
}
