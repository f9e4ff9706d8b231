/**
 * What the commands build from the environment: the provider registry and the controller's policy
 * (retries, allowlist), read from the same variables as Lambda and `jobctl run` (CONTRACT.md §
 * Configuration). Everything comes from `io.env`, never from `process.env` directly, so a test (or
 * a wrapper) can run a command against its own environment.
 */
import type { Allowlist } from '../allowlist';
import { createProviderRegistry, type ProviderRegistry } from '../providers/index';
import type { RetryPolicy } from '../retry';
import { readControllerConfig } from '../runtime';
import { parameterCredentials } from '../secrets';

export interface ControllerPolicy {
  retry: RetryPolicy;
  allowlist: Allowlist;
}

/** `JOBCTL_MAX_ATTEMPTS`, `JOBCTL_CALL_TIMEOUT_MS`, `JOBCTL_RETRY_BUDGET_MS`, `JOBCTL_ALLOWED_TARGETS`. */
export function controllerPolicy(env: NodeJS.ProcessEnv): ControllerPolicy {
  const c = readControllerConfig(env);
  return { retry: c.retry, allowlist: c.allowlist };
}

export interface CliProviders extends ProviderRegistry {
  close(): void;
}

/** The provider registry for `env` (never process.env), closable so the command can exit at once. */
export function providersFromEnv(env: NodeJS.ProcessEnv, timeoutMs?: number): CliProviders {
  const registry = createProviderRegistry({ env, credentials: parameterCredentials(env), timeoutMs });
  return { get: (name) => registry.get(name), close: () => registry.close?.() };
}

/** A variable the command cannot do without; the message says where it usually comes from. */
export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v)
    throw new Error(
      `${name} is not set (start \`jobctl run\` and export the KEY=value lines it prints, or point it at your queue)`,
    );
  return v;
}

/** The part of the help text every provider-calling command shares. */
export const PROVIDER_ENV_HELP = `environment (providers):
  COS_ENDPOINT, TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_SESSIONTOKEN,
    COS_ROLE_ARN                          Tencent COS
  OSS_ENDPOINT, ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET,
    ALIBABA_CLOUD_SECURITY_TOKEN          Alibaba OSS
  AWS_ENDPOINT_URL_S3_CONTROL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                                          AWS S3 (else the AWS default credential chain)
  JOBCTL_MAX_ATTEMPTS, JOBCTL_CALL_TIMEOUT_MS, JOBCTL_RETRY_BUDGET_MS   retry policy`;

/** Lines for an "environment:" section: the SQS client's own variables. */
export const QUEUE_ENV_HELP = `  AWS_REGION, AWS_ENDPOINT_URL_SQS
                           the SQS region and endpoint (jobctl run prints both)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                           SQS credentials (else the AWS default chain)`;
