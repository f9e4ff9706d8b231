/**
 * Where COS keys come from: the `TENCENTCLOUD_*` variables, or, with `COS_ROLE_ARN`, short-lived keys
 * from STS AssumeRole. The STS client (part of tencentcloud-sdk-nodejs) is imported by its deep
 * path and only when a role is configured, so a deployment with plain keys never loads the SDK.
 *
 * @example
 * const credentials = cosCredentialsFromEnv(); // reads process.env once
 * const { accessKeyId, secretAccessKey, sessionToken } = await credentials();
 */
import { ProviderError } from '../errors';
import type { CredentialSource, Credentials } from '../types';

/** What the source needs of an STS client (the SDK's `sts.v20180813.Client` fits). */
export interface StsClient {
  AssumeRole(req: { RoleArn: string; RoleSessionName: string; DurationSeconds?: number }): Promise<{
    Credentials?: { Token?: string; TmpSecretId?: string; TmpSecretKey?: string };
    /** Epoch seconds. */
    ExpiredTime?: number;
    /** ISO 8601. */
    Expiration?: string;
    RequestId?: string;
  }>;
}

export type StsFactory = (
  credential: { secretId: string; secretKey: string; token?: string | undefined },
  region: string,
) => Promise<StsClient>;

export interface CosCredentialsOptions {
  /** Builds the STS client; the real one from tencentcloud-sdk-nodejs by default. */
  sts?: StsFactory | undefined;
  /** Epoch ms. */
  now?: (() => number) | undefined;
  /** Refresh this long before expiry (default 5 minutes). */
  refreshBeforeMs?: number | undefined;
  /** Requested lifetime of assumed keys (default 3600 s). */
  durationSeconds?: number | undefined;
}

export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;
const DEFAULT_DURATION_SECONDS = 3600;
/** When a refresh fails, keys this far from expiry are still good enough to sign with. */
const STALE_MARGIN_MS = 60_000;
const ROLE_SESSION_NAME = 'jobctl';
const DEFAULT_STS_REGION = 'ap-guangzhou';

/** The real STS client, loaded on first use by its file path (a directory import fails in plain ESM). */
export const loadSts: StsFactory = async (credential, region) => {
  const { Client } = await import(
    'tencentcloud-sdk-nodejs/tencentcloud/services/sts/v20180813/sts_client.js'
  );
  return new Client({ credential, region, profile: { httpProfile: { reqTimeout: 10 } } });
};

function missing(names: string[], purpose: string): ProviderError {
  return new ProviderError({
    kind: 'config',
    code: 'MissingCredentials',
    message: `COS credentials are not configured: set ${names.join(' and ')}${purpose}`,
  });
}

/** Keep a fetched credential until shortly before it expires; callers arriving meanwhile share one fetch. */
export function refreshingCredentials(
  fetch: () => Promise<Credentials>,
  opts: { now?: (() => number) | undefined; refreshBeforeMs?: number | undefined } = {},
): CredentialSource {
  const now = opts.now ?? Date.now;
  const refreshBeforeMs = opts.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
  let cached: Credentials | undefined;
  let inFlight: Promise<Credentials> | undefined;

  const refresh = (): Promise<Credentials> => {
    inFlight ??= fetch()
      .then((c) => {
        cached = c;
        return c;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return async () => {
    const c = cached;
    if (c !== undefined && (c.expiration === undefined || now() < c.expiration - refreshBeforeMs)) return c;
    try {
      return await refresh();
    } catch (e) {
      // STS trouble must not stop calls while the keys we hold are still valid.
      if (c?.expiration !== undefined && now() < c.expiration - STALE_MARGIN_MS) return c;
      throw e;
    }
  };
}

// Codes that another attempt cannot fix: wrong keys, no permission to assume, no such role.
const STS_AUTH_CODES = /^(AuthFailure|UnauthorizedOperation|InvalidParameter|ResourceNotFound)/;

/** The SDK's exception carries `code` (e.g. `AuthFailure.SecretIdNotFound`) and `requestId`. */
function stsError(e: unknown, secrets: string[]): ProviderError {
  const err = e as { code?: unknown; requestId?: unknown; message?: unknown };
  const code = typeof err.code === 'string' && err.code !== '' ? err.code : null;
  let message = typeof err.message === 'string' ? err.message : 'unknown error';
  for (const s of secrets) if (s !== '') message = message.replaceAll(s, '***');
  const kind =
    code === null
      ? 'network'
      : STS_AUTH_CODES.test(code)
        ? 'auth'
        : code.startsWith('RequestLimitExceeded')
          ? 'throttled'
          : 'server';
  return new ProviderError({
    kind,
    code: code ?? 'StsUnavailable',
    message: `STS AssumeRole for COS failed: ${message}`,
    requestId: typeof err.requestId === 'string' && err.requestId !== '' ? err.requestId : null,
    // No `cause`: the SDK's error objects are not ours to vouch for, and errors get logged.
  });
}

/**
 * COS credentials from the environment (read once, when called): `TENCENTCLOUD_SECRETID`,
 * `TENCENTCLOUD_SECRETKEY`, optional `TENCENTCLOUD_SESSIONTOKEN`; with `COS_ROLE_ARN`, those keys
 * assume the role and the short-lived keys are used instead, refreshed before they expire.
 * Missing keys reject every call with a `CredentialsMissing` error naming the variables.
 */
export function cosCredentialsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  opts: CosCredentialsOptions = {},
): CredentialSource {
  const secretId = env.TENCENTCLOUD_SECRETID ?? '';
  const secretKey = env.TENCENTCLOUD_SECRETKEY ?? '';
  const token = env.TENCENTCLOUD_SESSIONTOKEN || undefined;
  const roleArn = env.COS_ROLE_ARN ?? '';
  const absent = [
    ...(secretId === '' ? ['TENCENTCLOUD_SECRETID'] : []),
    ...(secretKey === '' ? ['TENCENTCLOUD_SECRETKEY'] : []),
  ];

  if (roleArn === '') {
    if (absent.length > 0) {
      const error = missing(absent, '');
      return () => Promise.reject(error);
    }
    const fixed: Credentials = { accessKeyId: secretId, secretAccessKey: secretKey, sessionToken: token };
    return () => Promise.resolve(fixed);
  }

  if (absent.length > 0) {
    const error = missing(absent, ' (used to assume COS_ROLE_ARN through STS)');
    return () => Promise.reject(error);
  }
  const region = env.TENCENTCLOUD_REGION || DEFAULT_STS_REGION;
  const durationSeconds = opts.durationSeconds ?? DEFAULT_DURATION_SECONDS;
  const now = opts.now ?? Date.now;
  const factory = opts.sts ?? loadSts;
  let client: Promise<StsClient> | undefined;

  return refreshingCredentials(
    async () => {
      const secrets = [secretId, secretKey, token ?? ''];
      let res: Awaited<ReturnType<StsClient['AssumeRole']>>;
      try {
        client ??= factory({ secretId, secretKey, token }, region);
        res = await (await client).AssumeRole({
          RoleArn: roleArn,
          RoleSessionName: ROLE_SESSION_NAME,
          DurationSeconds: durationSeconds,
        });
      } catch (e) {
        client = undefined;
        throw stsError(e, secrets);
      }
      const c = res.Credentials;
      if (!c?.TmpSecretId || !c.TmpSecretKey || !c.Token)
        throw new ProviderError({
          kind: 'server',
          code: 'StsMalformedResponse',
          message: 'STS AssumeRole answered without TmpSecretId, TmpSecretKey and Token',
          requestId: res.RequestId ?? null,
        });
      const expiration =
        typeof res.ExpiredTime === 'number'
          ? res.ExpiredTime * 1000
          : res.Expiration !== undefined && !Number.isNaN(Date.parse(res.Expiration))
            ? Date.parse(res.Expiration)
            : now() + durationSeconds * 1000;
      return {
        accessKeyId: c.TmpSecretId,
        secretAccessKey: c.TmpSecretKey,
        sessionToken: c.Token,
        expiration,
      };
    },
    { now, refreshBeforeMs: opts.refreshBeforeMs },
  );
}
