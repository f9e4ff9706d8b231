/**
 * SigV4 verification for the S3 Control endpoint: recompute the signature of the request as
 * received, with the sandbox's secret and the client's own date, scope and signed-header list,
 * using the same signer the SDK uses (@smithy/signature-v4), and compare in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { SandboxError } from '../errors';
import type { QueryEntry } from '../query';

export interface SigV4Request {
  method: string;
  rawPath: string;
  query: readonly QueryEntry[];
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string }
  | { ok: false; error: SandboxError };

/** S3 refuses a request whose signing time is more than 15 minutes off. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

const denied = (code: string, message: string, status = 403): SigV4Result => ({
  ok: false,
  error: new SandboxError(code, status, message),
});

function parseAmzDate(s: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, se));
}

export async function verifySigV4(
  req: SigV4Request,
  secretFor: (accessKeyId: string) => string | undefined,
  nowMs: number,
): Promise<SigV4Result> {
  const authorization = req.headers.authorization;
  if (!authorization) return denied('AccessDenied', 'Access Denied');
  const m = AUTH.exec(authorization.trim());
  if (!m) return denied('AuthorizationHeaderMalformed', 'The authorization header is malformed', 400);
  const [, accessKeyId, shortDate, region, service, signedHeaderList, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const secret = secretFor(accessKeyId);
  if (secret === undefined)
    return denied('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (service !== 's3')
    return denied('AuthorizationHeaderMalformed', `The credential should be scoped to the service s3`, 400);

  const signingDate = parseAmzDate(req.headers['x-amz-date']);
  if (!signingDate) return denied('AccessDenied', 'AWS authentication requires a valid x-amz-date header');
  if (!signingDate.toISOString().replaceAll('-', '').startsWith(shortDate))
    return denied('SignatureDoesNotMatch', 'The credential date does not match x-amz-date');
  if (Math.abs(signingDate.getTime() - nowMs) > MAX_SKEW_MS)
    return denied(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
    );

  const signed = signedHeaderList.split(';');
  if (!signed.includes('host')) return denied('SignatureDoesNotMatch', 'The host header must be signed');
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = req.headers[name];
    if (value === undefined) return denied('SignatureDoesNotMatch', `The signed header ${name} is missing`);
    headers[name] = value;
  }
  // A declared payload hash must be the body's, or a valid signature would cover a swapped body.
  const declared = req.headers['x-amz-content-sha256'];
  if (declared && /^[0-9a-f]{64}$/.test(declared)) {
    const actual = createHash('sha256').update(req.body, 'utf8').digest('hex');
    if (actual !== declared)
      return denied('XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 does not match', 400);
  }

  const query: Record<string, string | string[]> = {};
  for (const { key, value } of req.query) {
    const v = value ?? '';
    const prev = query[key];
    query[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const [hostname, port] = (headers.host ?? '').split(':');
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: secret },
    region,
    service: 's3',
    sha256: Sha256,
    // S3 signs the path as sent (no second escaping) and takes the payload hash from the header.
    uriEscapePath: false,
    applyChecksum: false,
  });
  const resigned = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: hostname ?? '',
      port: port ? Number(port) : undefined,
      path: req.rawPath,
      query,
      headers,
      body: req.body === '' ? undefined : req.body,
    },
    { signingDate, signingRegion: region, signingService: 's3', signableHeaders: new Set(signed) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization ?? ''))?.[1] ?? '';
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    return denied(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  return { ok: true, accessKeyId, region };
}
