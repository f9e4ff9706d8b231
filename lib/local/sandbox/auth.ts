/**
 * Every request's signature, checked the provider's way against the sandbox credentials: COS and
 * OSS with the project's own verifiers (the same canonical forms the clients sign with), S3 by
 * recomputing SigV4. A refusal becomes the provider's 403 (or 400 for a malformed header).
 * Signing time is checked against the wall clock, not the sandbox's lifecycle clock, because
 * clients sign with real time even when a test drives the jobs with a fake one.
 */
import { verifyCosRequest } from '../../providers/cos/sign';
import { verifyOssRequest } from '../../providers/oss/sign';
import type { ProviderName } from '../../providers/types';
import type { SandboxCredentials } from './credentials';
import { SandboxError } from './errors';
import { OSS_EC } from './oss/wire';
import type { QueryEntry } from './query';
import { verifySigV4 } from './s3/verify';

export interface ReceivedRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  query: readonly QueryEntry[];
  /** Lower-case names, repeated values joined. */
  headers: Record<string, string>;
  body: string;
}

export type AuthResult = { ok: true; region: string | null } | { ok: false; error: SandboxError };

export async function authenticate(
  provider: ProviderName,
  req: ReceivedRequest,
  creds: SandboxCredentials,
  wallClockMs: number,
): Promise<AuthResult> {
  switch (provider) {
    case 'cos': {
      const r = verifyCosRequest(
        withoutUnsignedCosToken(req),
        (id) => (id === creds.cos.secretId ? creds.cos.secretKey : undefined),
        Math.floor(wallClockMs / 1000),
      );
      return r.ok
        ? { ok: true, region: null }
        : { ok: false, error: new SandboxError(r.code, 403, r.message) };
    }
    case 'oss': {
      const r = verifyOssRequest(
        req,
        (id) => (id === creds.oss.accessKeyId ? creds.oss.accessKeySecret : undefined),
        new Date(wallClockMs),
      );
      return r.ok
        ? { ok: true, region: r.region }
        : { ok: false, error: new SandboxError(r.code, 403, r.message, OSS_EC.auth) };
    }
    case 's3': {
      const r = await verifySigV4(
        req,
        (id) => (id === creds.s3.accessKeyId ? creds.s3.secretAccessKey : undefined),
        wallClockMs,
      );
      return r.ok ? { ok: true, region: r.region } : r;
    }
  }
}

/**
 * COS accepts an `x-cos-security-token` the signature does not cover: cos-go-sdk-v5's
 * AddAuthorizationHeader long signed the request first and set the token after. So the token is
 * left out of the check when the signature does not list it; a listed one is checked as signed.
 */
function withoutUnsignedCosToken(req: ReceivedRequest): ReceivedRequest {
  if (req.headers['x-cos-security-token'] === undefined) return req;
  const list = /(?:^|&)q-header-list=([^&]*)/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  if (list.toLowerCase().split(/;|%3b/).includes('x-cos-security-token')) return req;
  const { 'x-cos-security-token': _, ...headers } = req.headers;
  return { ...req, headers };
}
