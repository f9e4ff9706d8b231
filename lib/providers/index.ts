/**
 * The provider registry: the only place that maps a provider name to its implementation.
 * Implementations load on first use, so a function that only ever talks to COS never
 * evaluates the S3 Control client (cold start).
 */
import { envCredentials } from './aws-env';
import { parameterCredentials } from './secrets';
import type { CredentialSource, JobControl, ProviderName } from './types';

export interface ProviderConfig {
  env: NodeJS.ProcessEnv;
  /** Per-provider credential sources that override the environment (Lambda: SSM parameters). */
  credentials?: Partial<Record<ProviderName, CredentialSource>>;
  timeoutMs?: number;
}

export interface ProviderRegistry {
  get(name: ProviderName): Promise<JobControl>;
  /** Release what the loaded clients hold open (the S3 SDK's sockets), so a CLI process can exit. */
  close(): void;
}

const factories: Record<ProviderName, (c: ProviderConfig) => Promise<JobControl>> = {
  async cos(c) {
    const [{ createCosControl }, { cosCredentialsFromEnv }] = await Promise.all([
      import('./cos/client'),
      import('./cos/credentials'),
    ]);
    return createCosControl({
      endpoint: c.env.COS_ENDPOINT || undefined,
      credentials: c.credentials?.cos ?? cosCredentialsFromEnv(c.env),
      timeoutMs: c.timeoutMs,
    });
  },
  async oss(c) {
    const [{ createOssControl }, { ossCredentialsFromEnv }] = await Promise.all([
      import('./oss/client'),
      import('./oss/credentials'),
    ]);
    return createOssControl({
      endpoint: c.env.OSS_ENDPOINT || undefined,
      credentials: c.credentials?.oss ?? ossCredentialsFromEnv(c.env),
      timeoutMs: c.timeoutMs,
    });
  },
  async s3(c) {
    const { createS3Control, configuredEndpoint } = await import('./s3/client');
    // From the given env, not process.env: a command or test may run against an env of its own.
    return createS3Control({
      endpoint: configuredEndpoint(c.env),
      credentials: envCredentials(c.env),
      timeoutMs: c.timeoutMs,
    });
  },
};

export function createProviderRegistry(config: ProviderConfig): ProviderRegistry {
  const loaded = new Map<ProviderName, Promise<JobControl>>();
  return {
    get(name) {
      let p = loaded.get(name);
      if (!p) {
        p = factories[name](config);
        // A failed load (e.g. a missing module) must not be cached forever.
        p.catch(() => loaded.delete(name));
        loaded.set(name, p);
      }
      return p;
    },
    close() {
      for (const p of loaded.values())
        void p.then((c) => (c as JobControl & { close?: () => void }).close?.()).catch(() => undefined);
    },
  };
}

/**
 * The registry every entry point uses: the environment's endpoints and keys, with provider keys
 * from SSM parameters where those are configured (lib/providers/secrets.ts).
 */
export function providersFromEnv(env: NodeJS.ProcessEnv, timeoutMs?: number): ProviderRegistry {
  return createProviderRegistry({ env, credentials: parameterCredentials(env), timeoutMs });
}

/** A registry over fixed implementations: tests and the sandbox benchmark. */
export function staticRegistry(impls: Partial<Record<ProviderName, JobControl>>): ProviderRegistry {
  return {
    close: () => undefined,
    async get(name) {
      const impl = impls[name];
      if (!impl) throw new Error(`no ${name} provider configured`);
      return impl;
    },
  };
}
