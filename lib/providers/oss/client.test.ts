/**
 * The OSS client against a recording HTTP server on 127.0.0.1: the exact bytes it sends, that
 * the sandbox's verifier accepts its signature, how each answer is read and each failure typed.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorKind } from '../errors';
import { EXAMPLE_TARGETS } from '../examples';
import { closeIdleConnections } from '../http';
import type { Credentials, JobControl, Target } from '../types';
import { createOssControl } from './client';
import { verifyOssRequest } from './sign';

const JOB_ID = 'MzRjZGU2NGQ3YTY5NGRhMTkxZmZhYzY5OTM5YTcxYWU=';
const JOB_ID_ENC = 'MzRjZGU2NGQ3YTY5NGRhMTkxZmZhYzY5OTM5YTcxYWU%3D';
const NOW = Date.parse('2026-11-24T06:00:00.000Z');
const KEYS: Credentials = {
  accessKeyId: 'LTAI5tClientTest',
  secretAccessKey: 'client-test-secret-0123456789',
};
const TEMP: Credentials = { ...KEYS, sessionToken: 'CAIS+client/test/token==' };
const HANGZHOU: Target = EXAMPLE_TARGETS.oss;

type Reply = { status: number; body?: string; headers?: Record<string, string> } | 'hang' | 'reset';

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

const replies: Reply[] = [];
const recorded: Recorded[] = [];
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    recorded.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    const reply = replies.shift() ?? { status: 500, body: '<Error><Code>NoReplyScripted</Code></Error>' };
    if (reply === 'hang') return;
    if (reply === 'reset') {
      req.socket.destroy();
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/xml', ...reply.headers });
    res.end(reply.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  closeIdleConnections();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  replies.length = 0;
  recorded.length = 0;
});

function control(creds: Credentials = KEYS, endpoint: string = base): JobControl {
  return createOssControl({ endpoint, credentials: async () => creds, now: () => NOW });
}

function verify(r: Recorded, secret = KEYS.secretAccessKey) {
  const q = r.url.indexOf('?');
  return verifyOssRequest(
    {
      method: r.method,
      rawPath: q < 0 ? r.url : r.url.slice(0, q),
      rawQuery: q < 0 ? '' : r.url.slice(q + 1),
      headers: r.headers,
    },
    (id) => (id === KEYS.accessKeyId ? secret : undefined),
    new Date(NOW),
  );
}

const statusXml = (status: string, reason = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<UpdateJobStatusResult><JobId>${JOB_ID}</JobId><Status>${status}</Status><StatusUpdateReason>${reason}</StatusUpdateReason></UpdateJobStatusResult>`;

describe('requests on the wire, byte for byte, and their answers', () => {
  it.each<[string, (c: JobControl) => Promise<unknown>, string, 'GET' | 'POST', string, unknown]>([
    [
      'UpdateJobStatus: id ending in "=" as %3D, reason spaces as %20',
      (c) => c.updateStatus(HANGZHOU, JOB_ID, 'Ready', 'off-peak window opened'),
      statusXml('Ready', 'off-peak window opened'),
      'POST',
      `/?batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready&statusUpdateReason=off-peak%20window%20opened`,
      { jobId: JOB_ID, status: 'Ready', statusUpdateReason: 'off-peak window opened' },
    ],
    [
      'UpdateJobStatus: CJK reason',
      (c) => c.updateStatus(HANGZHOU, JOB_ID, 'Cancelled', '取消'),
      statusXml('Cancelling', '取消'),
      'POST',
      `/?batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Cancelled&statusUpdateReason=%E5%8F%96%E6%B6%88`,
      { jobId: JOB_ID, status: 'Cancelling', statusUpdateReason: '取消' },
    ],
    [
      'UpdateJobStatus: emoji reason',
      (c) => c.updateStatus(HANGZHOU, JOB_ID, 'Ready', '🌙 go'),
      statusXml('Ready', '🌙 go'),
      'POST',
      `/?batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready&statusUpdateReason=%F0%9F%8C%99%20go`,
      { jobId: JOB_ID, status: 'Ready', statusUpdateReason: '🌙 go' },
    ],
    [
      'UpdateJobStatus: an empty reason is not sent',
      (c) => c.updateStatus(HANGZHOU, JOB_ID, 'Ready', ''),
      statusXml('Ready'),
      'POST',
      `/?batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready`,
      { jobId: JOB_ID, status: 'Ready', statusUpdateReason: null },
    ],
    [
      'UpdateJobPriority: targetPriority',
      (c) => c.updatePriority(HANGZHOU, JOB_ID, 2147483647),
      `<UpdateJobPriorityResult><JobId>${JOB_ID}</JobId><Priority>2147483647</Priority></UpdateJobPriorityResult>`,
      'POST',
      `/?batchJobPriority&batchJobId=${JOB_ID_ENC}&targetPriority=2147483647`,
      { jobId: JOB_ID, priority: 2147483647 },
    ],
    [
      'DescribeJob',
      (c) => c.describe(HANGZHOU, JOB_ID),
      `<DescribeJobResult><Job><JobId>${JOB_ID}</JobId><Status>Suspended</Status><Priority>10</Priority><Description>nightly-1</Description><CreationTime>1749983400</CreationTime></Job></DescribeJobResult>`,
      'GET',
      `/?batchJob&batchJobId=${JOB_ID_ENC}`,
      {
        jobId: JOB_ID,
        status: 'Suspended',
        priority: 10,
        description: 'nightly-1',
        creationTime: '2025-06-15T10:30:00.000Z',
        statusUpdateReason: null,
        progress: null,
        failureReasons: [],
        report: null,
        terminationDate: null,
      },
    ],
    [
      'ListJobs: statuses, max-keys, continuation token',
      (c) => c.list(HANGZHOU, { statuses: ['Suspended', 'Paused'], maxResults: 2, nextToken: 'p+2/=' }),
      `<ListJobsResult><NextToken>p3</NextToken><Jobs><JobListDescriptor><JobId>j1</JobId><Status>Suspended</Status></JobListDescriptor></Jobs></ListJobsResult>`,
      'GET',
      '/?batchJob&batchJobStatuses=Suspended%7CPaused&max-keys=2&continuation-token=p%2B2%2F%3D',
      {
        nextToken: 'p3',
        jobs: [
          {
            jobId: 'j1',
            status: 'Suspended',
            priority: null,
            description: null,
            creationTime: null,
            statusUpdateReason: null,
            progress: null,
          },
        ],
      },
    ],
  ])('%s', async (_name, invoke, body, method, url, decoded) => {
    replies.push({ status: 200, body, headers: { 'x-oss-request-id': 'REQ-OK' } });
    expect(await invoke(control())).toEqual(decoded);

    expect(recorded).toHaveLength(1);
    const r = recorded[0]!;
    expect(r.method).toBe(method);
    expect(r.url).toBe(url);
    expect(r.headers.host).toBe(new URL(base).host);
    expect(r.headers['x-oss-date']).toBe('20261124T060000Z');
    expect(r.headers['x-oss-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(r.headers['x-oss-security-token']).toBeUndefined();
    expect(r.headers['content-length']).toBe(method === 'POST' ? '0' : undefined);
    expect(r.headers.authorization).toMatch(
      /^OSS4-HMAC-SHA256 Credential=LTAI5tClientTest\/20261124\/cn-hangzhou\/oss\/aliyun_v4_request,AdditionalHeaders=host,Signature=[0-9a-f]{64}$/,
    );
    expect(verify(r)).toEqual({
      ok: true,
      accessKeyId: KEYS.accessKeyId,
      region: EXAMPLE_TARGETS.oss.region,
    });
  });

  it('sends and signs the security token of temporary keys, for the target region', async () => {
    replies.push({ status: 200, body: statusXml('Ready') });
    await control(TEMP).updateStatus({ provider: 'oss', region: 'cn-shanghai' }, JOB_ID, 'Ready', undefined);
    const r = recorded[0]!;
    expect(r.headers['x-oss-security-token']).toBe(TEMP.sessionToken);
    expect(verify(r)).toEqual({ ok: true, accessKeyId: KEYS.accessKeyId, region: 'cn-shanghai' });
    // The token is covered by the signature: another token does not verify.
    expect(verify({ ...r, headers: { ...r.headers, 'x-oss-security-token': 'other' } }).ok).toBe(false);
  });

  it('a signature made with another secret is refused by the verifier', async () => {
    replies.push({ status: 200, body: statusXml('Ready') });
    await control().updateStatus(HANGZHOU, JOB_ID, 'Ready', undefined);
    expect(verify(recorded[0]!, 'another-secret')).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
  });
});

describe('error answers become typed ProviderErrors', () => {
  const errorXml = (code: string, ec: string) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code} happened</Message><RequestId>REQ-${code}</RequestId><HostId>oss-cn-hangzhou.aliyuncs.com</HostId><EC>${ec}</EC></Error>`;

  it.each<[number, string, string, ErrorKind, string | null, boolean]>([
    [404, errorXml('NoSuchJob', '0017-00001003'), 'NoSuchJob', 'not-found', '0017-00001003', false],
    [400, errorXml('InvalidRequest', '0017-00001005'), 'InvalidRequest', 'conflict', '0017-00001005', false],
    [409, errorXml('Conflict', '0017-00001006'), 'Conflict', 'conflict', '0017-00001006', false],
    [400, errorXml('InvalidArgument', '0017-00001002'), 'InvalidArgument', 'invalid', '0017-00001002', false],
    [403, errorXml('AccessDenied', '0003-00000001'), 'AccessDenied', 'auth', '0003-00000001', false],
    [
      403,
      errorXml('SignatureDoesNotMatch', '0002-00000040'),
      'SignatureDoesNotMatch',
      'auth',
      '0002-00000040',
      false,
    ],
    [
      403,
      errorXml('InvalidAccessKeyId', '0002-00000902'),
      'InvalidAccessKeyId',
      'auth',
      '0002-00000902',
      false,
    ],
    [
      429,
      errorXml('TooManyRequests', '0001-00000001'),
      'TooManyRequests',
      'throttled',
      '0001-00000001',
      true,
    ],
    [503, errorXml('SlowDown', '0001-00000002'), 'SlowDown', 'throttled', '0001-00000002', true],
    [500, errorXml('InternalError', '0001-00000003'), 'InternalError', 'server', '0001-00000003', true],
    [502, '<html>bad gateway</html>', 'BadGateway', 'server', null, true],
  ])('%i → %s', async (status, body, code, kind, ec, retryable) => {
    replies.push({ status, body, headers: { 'x-oss-request-id': `REQ-${code}` } });
    const error = await control()
      .updateStatus(HANGZHOU, JOB_ID, 'Ready', undefined)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({
      name: 'ProviderError',
      kind,
      code,
      httpStatus: status,
      requestId: `REQ-${code}`,
      ec,
      retryable,
    });
  });

  it('a 200 with an unreadable body is a retryable MalformedResponse', async () => {
    replies.push({ status: 200, body: '<html>captive portal</html>' });
    await expect(control().describe(HANGZHOU, JOB_ID)).rejects.toMatchObject({
      kind: 'server',
      code: 'MalformedResponse',
      retryable: true,
    });
  });
});

describe('transport failures are retryable', () => {
  it('no answer within the timeout → timeout', async () => {
    replies.push('hang');
    await expect(control().describe(HANGZHOU, JOB_ID, { timeoutMs: 150 })).rejects.toMatchObject({
      name: 'ProviderError',
      kind: 'timeout',
      code: 'Timeout',
      retryable: true,
    });
  });

  it('the connection reset → network', async () => {
    replies.push('reset');
    await expect(control().updatePriority(HANGZHOU, JOB_ID, 1)).rejects.toMatchObject({
      name: 'ProviderError',
      kind: 'network',
      retryable: true,
    });
  });
});

describe('endpoint templates', () => {
  // Configuration, not a transition's fault: refused when the client is created.
  it.each([
    'ftp://oss-{region}.example',
    `http://127.0.0.1:1/prefix`,
    'not a url {region}',
    'https://u:p@host',
  ])('refuses %s when the client is created', (endpoint) => {
    expect(() => createOssControl({ endpoint, credentials: async () => KEYS })).toThrow(/OSS endpoint/);
    expect(recorded).toHaveLength(0);
  });
});

describe('refused before anything is sent', () => {
  it.each<[string, () => Promise<unknown>, string, ErrorKind]>([
    [
      'a region that cannot be part of a hostname',
      () => control().describe({ provider: 'oss', region: 'cn-hangzhou.evil.com' }, JOB_ID),
      'InvalidTarget',
      'invalid',
    ],
    [
      'missing credentials',
      () =>
        createOssControl({
          endpoint: base,
          credentials: () =>
            Promise.reject(
              Object.assign(new Error('no keys'), {
                name: 'ProviderError',
                kind: 'auth',
                code: 'MissingCredentials',
              }),
            ),
        }).describe(HANGZHOU, JOB_ID),
      'MissingCredentials',
      'auth',
    ],
    [
      'a priority out of range',
      () => control().updatePriority(HANGZHOU, JOB_ID, -1),
      'InvalidArgument',
      'invalid',
    ],
  ])('%s', async (_name, invoke, code, kind) => {
    await expect(invoke()).rejects.toMatchObject({ code, kind });
    expect(recorded).toHaveLength(0);
  });
});
