/**
 * OSS credentials from the environment variables Alibaba Cloud's own tools read. Missing keys do
 * not fail at start-up: a deployment that only drives COS or S3 jobs need not configure OSS, so
 * the source rejects when an OSS call actually needs it, naming the variables (never values).
 */
import { ProviderError } from '../errors';
import type { CredentialSource, Credentials } from '../types';

export const OSS_ENV = {
  accessKeyId: 'ALIBABA_CLOUD_ACCESS_KEY_ID',
  accessKeySecret: 'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  securityToken: 'ALIBABA_CLOUD_SECURITY_TOKEN',
} as const;

export function ossCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): CredentialSource {
  const accessKeyId = env[OSS_ENV.accessKeyId]?.trim() ?? '';
  const secretAccessKey = env[OSS_ENV.accessKeySecret]?.trim() ?? '';
  const sessionToken = env[OSS_ENV.securityToken]?.trim() || undefined;

  const missing = [
    accessKeyId === '' ? OSS_ENV.accessKeyId : null,
    secretAccessKey === '' ? OSS_ENV.accessKeySecret : null,
  ].filter((v) => v !== null);
  if (missing.length > 0) {
    const error = new ProviderError({
      kind: 'config',
      code: 'MissingCredentials',
      message: `OSS credentials are not configured: set ${missing.join(' and ')} (and ${OSS_ENV.securityToken} for temporary keys)`,
    });
    return () => Promise.reject(error);
  }

  // Frozen and shared: the hot path awaits this once per call, so no allocation per call.
  const credentials: Credentials = Object.freeze({ accessKeyId, secretAccessKey, sessionToken });
  const resolved = Promise.resolve(credentials);
  return () => resolved;
}
