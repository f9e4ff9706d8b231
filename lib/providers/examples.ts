/**
 * The example targets of docs/reference.md, defined once: the sandbox seeds its jobs under them, the
 * README, the CLI help, the benchmarks and the tests address them. Fictional numbers in each
 * provider's real shapes, so every validation rule applies to them as to a real account.
 */
import type { ProviderName, Target } from './types';

export const EXAMPLE_TARGETS = {
  cos: { provider: 'cos', region: 'ap-guangzhou', account: '100000000001', appId: '1250000000' },
  oss: { provider: 'oss', region: 'cn-hangzhou' },
  s3: { provider: 's3', region: 'us-east-1', account: '123456789012' },
} as const satisfies Record<ProviderName, Target>;
