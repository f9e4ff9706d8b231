/**
 * Provider keys for the deployed functions: read at run time from SSM Parameter Store
 * (SecureString, JSON) through Powertools parameters, cached, so that no key is ever in the
 * function's plain-text environment. Locally the environment variables serve instead.
 *
 * TENCENTCLOUD_CREDENTIALS_PARAMETER → {"secretId": "…", "secretKey": "…"}
 * ALIBABA_CLOUD_CREDENTIALS_PARAMETER → {"accessKeyId": "…", "accessKeySecret": "…"}
 */
import type { CredentialSource, Credentials, ProviderName } from './types';

/** Keys are re-read this often, so a rotation reaches warm functions. */
const MAX_AGE_SECONDS = 300;

type Fetch = (name: string) => Promise<unknown>;

const ssmFetch: Fetch = async (name) => {
  // Loaded only when a parameter is configured: the SSM client is large and local runs never need it.
  const { getParameter } = await import('@aws-lambda-powertools/parameters/ssm');
  return getParameter(name, { decrypt: true, transform: 'json', maxAge: MAX_AGE_SECONDS });
};

function fromParameter(
  name: string,
  pick: (v: Record<string, unknown>) => [unknown, unknown, unknown],
  fetch: Fetch,
): CredentialSource {
  return async () => {
    const value = await fetch(name);
    const [id, secret, token] =
      typeof value === 'object' && value !== null ? pick(value as Record<string, unknown>) : [];
    if (typeof id !== 'string' || typeof secret !== 'string' || !id || !secret)
      throw new Error(`parameter ${name} must be a JSON object with the key id and secret`);
    const creds: Credentials = { accessKeyId: id, secretAccessKey: secret };
    if (typeof token === 'string' && token) creds.sessionToken = token;
    return creds;
  };
}

/** Credential sources configured through parameters; providers without one use their env variables. */
export function parameterCredentials(
  env: NodeJS.ProcessEnv,
  fetch: Fetch = ssmFetch,
): Partial<Record<ProviderName, CredentialSource>> {
  const out: Partial<Record<ProviderName, CredentialSource>> = {};
  // Keys already in the environment win: `serverless invoke local` and self-hosting set them directly.
  if (env.TENCENTCLOUD_CREDENTIALS_PARAMETER?.trim() && !env.TENCENTCLOUD_SECRETID)
    out.cos = fromParameter(
      env.TENCENTCLOUD_CREDENTIALS_PARAMETER,
      (v) => [v.secretId, v.secretKey, v.sessionToken],
      fetch,
    );
  if (env.ALIBABA_CLOUD_CREDENTIALS_PARAMETER?.trim() && !env.ALIBABA_CLOUD_ACCESS_KEY_ID)
    out.oss = fromParameter(
      env.ALIBABA_CLOUD_CREDENTIALS_PARAMETER,
      (v) => [v.accessKeyId, v.accessKeySecret, v.securityToken],
      fetch,
    );
  return out;
}
