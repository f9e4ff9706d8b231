/**
 * Test helpers: the sandbox driven by clients nobody on the team wrote — cos-nodejs-sdk-v5's
 * generic `request()`, @aws-sdk/client-s3-control, and plain HTTP requests signed with ali-oss's
 * `authorizationV4`. Only tests import this file (it pulls in dev dependencies).
 */

import http from 'node:http';
import { createRequire } from 'node:module';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import COS from 'cos-nodejs-sdk-v5';
import type { Sandbox } from '../../lib/local/sandbox/server';
import { parseXml } from '../../lib/local/sandbox/xml';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';

const require = createRequire(import.meta.url);

interface AliOssSignUtils {
  authorizationV4(
    accessKeyId: string,
    accessKeySecret: string,
    region: string,
    method: string,
    request: { headers: Record<string, string>; queries: Record<string, string | null> },
    bucketName?: string,
    objectName?: string,
    additionalHeaders?: string[],
  ): string;
}
/** ali-oss's own V4 signer: the reference our signer and the sandbox's verifier are checked against. */
export const aliSign = require('ali-oss/lib/common/signUtils') as AliOssSignUtils;

/** The example targets (lib/providers/examples.ts), as the sandbox tests address them. */
export const EXAMPLE = EXAMPLE_TARGETS;

// ── plain HTTP ────────────────────────────────────────────────────────────────────────────────

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The parsed XML body (root element included). */
  xml: Record<string, unknown> | undefined;
}

/** One request on a fresh connection, so no keep-alive socket outlives the test's server. */
export function rawRequest(
  url: string,
  opts: { method: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, xml: parseXml(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.timeoutMs !== undefined)
      req.setTimeout(opts.timeoutMs, () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
      );
    req.end(opts.body);
  });
}

/** The error element of an error answer: COS/OSS `<Error>`, S3 `<ErrorResponse><Error>`. */
export function errorOf(r: RawResponse): Record<string, string> {
  const xml = r.xml ?? {};
  const err = (xml.ErrorResponse as { Error?: unknown } | undefined)?.Error ?? xml.Error;
  if (typeof err !== 'object' || err === null) throw new Error(`not an error answer: ${r.status} ${r.body}`);
  return err as Record<string, string>;
}

// ── OSS: requests signed by ali-oss ───────────────────────────────────────────────────────────

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface OssCall {
  method: 'GET' | 'POST';
  /** `null` = a bare sub-resource (`batchJob`). */
  query: Record<string, string | null>;
  region?: string;
  body?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  /** Change the request after signing (tamper tests). */
  tamper?: (req: { query: Record<string, string | null>; headers: Record<string, string> }) => void;
}

export function ossDateNow(date = new Date()): string {
  return `${date.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
}

export async function ossCall(sb: Sandbox, call: OssCall): Promise<RawResponse> {
  const headers: Record<string, string> = {
    'x-oss-date': ossDateNow(),
    'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
  };
  if (call.body !== undefined) headers['content-type'] = 'application/xml';
  headers.authorization = aliSign.authorizationV4(
    call.accessKeyId ?? sb.credentials.oss.accessKeyId,
    call.accessKeySecret ?? sb.credentials.oss.accessKeySecret,
    call.region ?? EXAMPLE.oss.region,
    call.method,
    { headers, queries: call.query },
  );
  const query = { ...call.query };
  call.tamper?.({ query, headers });
  const qs = Object.entries(query)
    .map(([k, v]) => (v === null ? rfc3986(k) : `${rfc3986(k)}=${rfc3986(v)}`))
    .join('&');
  return rawRequest(`${sb.url}/?${qs}`, { method: call.method, headers, body: call.body });
}

// ── COS: cos-nodejs-sdk-v5's generic request() ────────────────────────────────────────────────

export function cosSdk(sb: Sandbox, key?: { secretId?: string; secretKey?: string }): COS {
  return new COS({
    SecretId: key?.secretId ?? sb.credentials.cos.secretId,
    SecretKey: key?.secretKey ?? sb.credentials.cos.secretKey,
    Protocol: 'http:',
    // The sandbox is the only server: never retry or switch to a backup host on an error.
    AutoSwitchHost: false,
  });
}

export interface CosSdkResult {
  statusCode: number;
  /** The SDK's JSON form of the XML body. */
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

export interface CosSdkError {
  statusCode: number;
  code: string;
  message: string;
  error: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Call through `cos.request()`; errors resolve too (as `{ error }`), so tables can compare both. */
export async function cosCall(
  cos: COS,
  sb: Sandbox,
  call: {
    method: 'GET' | 'POST';
    path: string;
    query?: Record<string, string>;
    appId?: string | null;
    body?: string;
  },
): Promise<{ ok: true; result: CosSdkResult } | { ok: false; error: CosSdkError }> {
  const headers: Record<string, string> = {};
  const appId = call.appId === undefined ? EXAMPLE.cos.appId : call.appId;
  if (appId !== null) headers['x-cos-appid'] = appId;
  if (call.body !== undefined) headers['Content-Type'] = 'application/xml';
  try {
    const r = (await cos.request({
      Method: call.method,
      Url: `${sb.url}${call.path}`,
      Query: call.query ?? {},
      Headers: headers,
      Body: call.body,
    } as unknown as COS.RequestParams)) as unknown as Record<string, unknown>;
    const { statusCode, headers: h, ...body } = r;
    return {
      ok: true,
      result: {
        statusCode: statusCode as number,
        headers: h as Record<string, string>,
        body: (body.Body ?? body) as Record<string, unknown>,
      },
    };
  } catch (e) {
    const err = e as {
      statusCode?: number;
      code?: string;
      message?: string;
      error?: unknown;
      headers?: unknown;
    };
    return {
      ok: false,
      error: {
        statusCode: err.statusCode ?? 0,
        code: err.code ?? '',
        message: (err.error as { Message?: string } | undefined)?.Message ?? err.message ?? '',
        error: (err.error ?? {}) as Record<string, unknown>,
        headers: (err.headers ?? {}) as Record<string, string>,
      },
    };
  }
}

// ── S3: the AWS SDK ───────────────────────────────────────────────────────────────────────────

export function s3Sdk(
  sb: Sandbox,
  key?: { accessKeyId?: string; secretAccessKey?: string },
): S3ControlClient {
  return new S3ControlClient({
    region: EXAMPLE.s3.region,
    credentials: {
      accessKeyId: key?.accessKeyId ?? sb.credentials.s3.accessKeyId,
      secretAccessKey: key?.secretAccessKey ?? sb.credentials.s3.secretAccessKey,
    },
    // Without this the SDK builds https://{AccountId}.s3-control.{region}.amazonaws.com.
    endpointProvider: () => ({ url: new URL(sb.url) }),
    maxAttempts: 1,
  });
}
