/**
 * The S3 provider against a loopback S3 Control: the requests the SDK puts on the wire (path,
 * query encoding, account header, host, SigV4), the answers it decodes, and every documented
 * error as the `ProviderError` the controller decides on.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors';
import { EXAMPLE_TARGETS } from '../examples';
import type { Target } from '../types';
import { configuredEndpoint, createS3Control, type S3JobControl } from './client';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

const NS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';
const ACCOUNT = EXAMPLE_TARGETS.s3.account;
const TARGET: Target = { provider: 's3', region: 'us-east-1', account: ACCOUNT };
const JOB = '53dc6228-c50b-46f7-8ad7-65e7159f1aae';
const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  remotePort: number | undefined;
}
type Reply = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const requests: Recorded[] = [];
let reply: Reply = (_req, res) => xml(res, 500, '<Error><Code>NoReplySet</Code></Error>');
let server: http.Server;
let endpoint: string;
let s3: S3JobControl;

function xml(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/xml', ...headers });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort,
      });
      reply(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s3 = createS3Control({ endpoint, credentials: CREDS });
});

afterEach(() => {
  requests.length = 0;
});

afterAll(async () => {
  s3.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const only = (): Recorded => {
  expect(requests).toHaveLength(1);
  return requests[0]!;
};

/** Re-sign the recorded request with the same keys and date: the signature must be reproducible. */
async function expectValidSigV4(r: Recorded, region = 'us-east-1') {
  const auth = String(r.headers.authorization);
  const m =
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/(\d{8})\/([a-z0-9-]+)\/s3\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  expect(m, auth).not.toBeNull();
  const [, , scopeRegion, signedHeaders, signature] = m!;
  expect(scopeRegion).toBe(region);
  const signed = signedHeaders!.split(';');
  expect(signed).toEqual(expect.arrayContaining(['host', 'x-amz-account-id', 'x-amz-date']));

  const url = new URL(r.url, endpoint);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  const headers: Record<string, string> = {};
  for (const h of signed) headers[h] = String(r.headers[h]);
  const amzDate = String(r.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const signer = new SignatureV4({
    service: 's3',
    region,
    credentials: CREDS,
    sha256: Sha256,
    uriEscapePath: false,
  });
  const again = await signer.sign(
    {
      method: r.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers,
    },
    { signingDate },
  );
  expect(String(again.headers.authorization)).toContain(`Signature=${signature}`);
}

// S3 Control's query encoding: RFC 3986 unreserved characters stay, everything else is %XX of UTF-8.
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

describe('UpdateJobStatus', () => {
  const statusResult = (status: string, reason?: string) =>
    `<UpdateJobStatusResult xmlns="${NS}"><JobId>${JOB}</JobId><Status>${status}</Status>${
      reason === undefined ? '' : `<StatusUpdateReason>${reason}</StatusUpdateReason>`
    }</UpdateJobStatusResult>`;

  it.each([
    ['spaces', 'off-peak window opened', 'off-peak%20window%20opened'],
    ['CJK', '夜间窗口已开启', '%E5%A4%9C%E9%97%B4%E7%AA%97%E5%8F%A3%E5%B7%B2%E5%BC%80%E5%90%AF'],
    ['emoji', 'go 🚀', 'go%20%F0%9F%9A%80'],
    ['query metacharacters', 'a&b=c+d/e?f#g%h', 'a%26b%3Dc%2Bd%2Fe%3Ff%23g%25h'],
    ['sub-delims', "it's (done)!*", 'it%27s%20%28done%29%21%2A'],
  ])('sends the reason with %s percent-encoded and signs it', async (_name, reason, encoded) => {
    expect(rfc3986(reason)).toBe(encoded);
    reply = (_req, res) => xml(res, 200, statusResult('Ready', 'x'), { 'x-amz-request-id': 'REQ1' });
    await s3.updateStatus(TARGET, JOB, 'Ready', reason);
    const r = only();
    expect(r.method).toBe('POST');
    expect(r.url).toBe(
      `/v20180820/jobs/${JOB}/status?requestedJobStatus=Ready&statusUpdateReason=${encoded}`,
    );
    expect(new URL(r.url, endpoint).searchParams.get('statusUpdateReason')).toBe(reason);
    await expectValidSigV4(r);
  });

  it('sends the account header to the loopback host itself, with no account prefix', async () => {
    reply = (_req, res) => xml(res, 200, statusResult('Cancelled'));
    await s3.updateStatus(TARGET, JOB, 'Cancelled', undefined);
    const r = only();
    expect(r.headers['x-amz-account-id']).toBe(ACCOUNT);
    expect(r.headers.host).toBe(new URL(endpoint).host);
    expect(r.headers['x-amz-security-token']).toBeUndefined();
    expect(r.body).toBe('');
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
  ])('does not send an %s reason at all', async (_name, reason) => {
    reply = (_req, res) => xml(res, 200, statusResult('Cancelled'));
    await s3.updateStatus(TARGET, JOB, 'Cancelled', reason);
    expect(only().url).toBe(`/v20180820/jobs/${JOB}/status?requestedJobStatus=Cancelled`);
  });

  it('decodes UpdateJobStatusResult', async () => {
    reply = (_req, res) => xml(res, 200, statusResult('Ready', '夜间窗口 &amp; more'));
    await expect(s3.updateStatus(TARGET, JOB, 'Ready', '夜间窗口 & more')).resolves.toEqual({
      jobId: JOB,
      status: 'Ready',
      statusUpdateReason: '夜间窗口 & more',
    });
  });

  it('reports a missing reason as null', async () => {
    reply = (_req, res) => xml(res, 200, statusResult('Cancelling'));
    await expect(s3.updateStatus(TARGET, JOB, 'Cancelled', undefined)).resolves.toEqual({
      jobId: JOB,
      status: 'Cancelling',
      statusUpdateReason: null,
    });
  });
});

describe('UpdateJobPriority', () => {
  it.each([0, 42, 2147483647])('sends priority=%i and decodes UpdateJobPriorityResult', async (priority) => {
    reply = (_req, res) =>
      xml(
        res,
        200,
        `<UpdateJobPriorityResult xmlns="${NS}"><JobId>${JOB}</JobId><Priority>${priority}</Priority></UpdateJobPriorityResult>`,
      );
    await expect(s3.updatePriority(TARGET, JOB, priority)).resolves.toEqual({ jobId: JOB, priority });
    const r = only();
    expect(r.method).toBe('POST');
    expect(r.url).toBe(`/v20180820/jobs/${JOB}/priority?priority=${priority}`);
    expect(r.headers['x-amz-account-id']).toBe(ACCOUNT);
    await expectValidSigV4(r);
  });
});

describe('DescribeJob', () => {
  it('GETs the job and normalizes DescribeJobResult', async () => {
    reply = (_req, res) =>
      xml(
        res,
        200,
        `<DescribeJobResult xmlns="${NS}"><Job>
          <JobId>${JOB}</JobId>
          <ConfirmationRequired>true</ConfirmationRequired>
          <Description>nightly-2026-11-24</Description>
          <JobArn>arn:aws:s3:us-east-1:${ACCOUNT}:job/${JOB}</JobArn>
          <Status>Suspended</Status>
          <Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec>
            <Location><ObjectArn>arn:aws:s3:::manifests/m.csv</ObjectArn><ETag>"abc"</ETag></Location></Manifest>
          <Operation><S3PutObjectTagging><TagSet/></S3PutObjectTagging></Operation>
          <Priority>10</Priority>
          <ProgressSummary><TotalNumberOfTasks>100</TotalNumberOfTasks><NumberOfTasksSucceeded>0</NumberOfTasksSucceeded><NumberOfTasksFailed>0</NumberOfTasksFailed></ProgressSummary>
          <StatusUpdateReason>awaiting confirmation</StatusUpdateReason>
          <FailureReasons/>
          <Report><Enabled>false</Enabled></Report>
          <CreationTime>2026-11-23T21:00:00.000Z</CreationTime>
          <RoleArn>arn:aws:iam::${ACCOUNT}:role/batch</RoleArn>
          <SuspendedDate>2026-11-23T21:00:05Z</SuspendedDate>
          <SuspendedCause>AwaitingConfirmation</SuspendedCause>
        </Job></DescribeJobResult>`,
        { 'x-amz-request-id': 'REQ-D' },
      );
    await expect(s3.describe(TARGET, JOB)).resolves.toEqual({
      jobId: JOB,
      status: 'Suspended',
      priority: 10,
      description: 'nightly-2026-11-24',
      creationTime: '2026-11-23T21:00:00.000Z',
      statusUpdateReason: 'awaiting confirmation',
      progress: { total: 100, succeeded: 0, failed: 0 },
      failureReasons: [],
      report: null,
      terminationDate: null,
    });
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.url).toBe(`/v20180820/jobs/${JOB}`);
    expect(r.headers['x-amz-account-id']).toBe(ACCOUNT);
    await expectValidSigV4(r);
  });

  it('reports absent optional fields as null', async () => {
    reply = (_req, res) =>
      xml(
        res,
        200,
        `<DescribeJobResult xmlns="${NS}"><Job><JobId>${JOB}</JobId><Status>New</Status></Job></DescribeJobResult>`,
      );
    await expect(s3.describe(TARGET, JOB)).resolves.toEqual({
      jobId: JOB,
      status: 'New',
      priority: null,
      description: null,
      creationTime: null,
      statusUpdateReason: null,
      progress: null,
    });
  });
});

describe('ListJobs', () => {
  const member = (id: string, status: string, description: string, priority: number, created: string) =>
    `<member><JobId>${id}</JobId><Description>${description}</Description><Operation>S3PutObjectTagging</Operation>
     <Priority>${priority}</Priority><Status>${status}</Status><CreationTime>${created}</CreationTime>
     <ProgressSummary><TotalNumberOfTasks>5</TotalNumberOfTasks></ProgressSummary></member>`;

  it('sends the filter and paging, and normalizes ListJobsResult', async () => {
    reply = (_req, res) =>
      xml(
        res,
        200,
        `<ListJobsResult xmlns="${NS}"><NextToken>page/2+more=</NextToken><Jobs>
          ${member('job-aaaaa', 'Suspended', 'nightly-a', 5, '2026-11-23T20:00:00Z')}
          ${member('job_bbbbb', 'Paused', 'nightly-b', 0, '2026-11-23T20:30:00.123Z')}
        </Jobs></ListJobsResult>`,
      );
    const page = await s3.list(TARGET, {
      statuses: ['Suspended', 'Paused'],
      maxResults: 50,
      nextToken: 'page/1+x=',
    });
    expect(page).toEqual({
      jobs: [
        {
          jobId: 'job-aaaaa',
          status: 'Suspended',
          priority: 5,
          description: 'nightly-a',
          creationTime: '2026-11-23T20:00:00.000Z',
          statusUpdateReason: null,
          progress: { total: 5, succeeded: 0, failed: 0 },
        },
        {
          jobId: 'job_bbbbb',
          status: 'Paused',
          priority: 0,
          description: 'nightly-b',
          creationTime: '2026-11-23T20:30:00.123Z',
          statusUpdateReason: null,
          progress: { total: 5, succeeded: 0, failed: 0 },
        },
      ],
      nextToken: 'page/2+more=',
    });
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.url).toBe(
      '/v20180820/jobs?jobStatuses=Suspended&jobStatuses=Paused&maxResults=50&nextToken=page%2F1%2Bx%3D',
    );
    await expectValidSigV4(r);
  });

  it('sends no query for an empty query and reads an empty, last page', async () => {
    reply = (_req, res) => xml(res, 200, `<ListJobsResult xmlns="${NS}"><Jobs/></ListJobsResult>`);
    await expect(s3.list(TARGET, { statuses: [] })).resolves.toEqual({ jobs: [], nextToken: null });
    expect(only().url).toBe('/v20180820/jobs');
  });
});

describe('errors', () => {
  // The two bodies S3 Control is seen answering with: wrapped, and S3's plain <Error>.
  const wrapped = (code: string, message: string, requestId: string) =>
    `<ErrorResponse xmlns="${NS}"><Error><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId><HostId>aG9zdA==</HostId></ErrorResponse>`;
  const plain = (code: string, message: string, requestId: string) =>
    `<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId><HostId>aG9zdA==</HostId></Error>`;

  it.each([
    // code, status, kind, retryable
    ['NotFoundException', 404, 'not-found', false],
    ['JobStatusException', 409, 'conflict', false],
    ['BadRequestException', 400, 'invalid', false],
    ['InvalidRequestException', 400, 'invalid', false],
    ['TooManyRequestsException', 400, 'throttled', true],
    ['InternalServiceException', 500, 'server', true],
    ['AccessDenied', 403, 'auth', false],
    ['InvalidAccessKeyId', 403, 'auth', false],
    ['ExpiredToken', 400, 'auth', false],
    ['SlowDown', 503, 'throttled', true],
    ['ServiceUnavailable', 503, 'server', true],
    ['SomethingNew', 418, 'invalid', false],
    ['SomethingNew', 429, 'throttled', true],
  ] as const)('%s (%i) is %s, retryable %s', async (code, status, kind, retryable) => {
    for (const [shape, body, requestId] of [
      ['wrapped', wrapped, 'REQ-BODY-1'],
      ['plain', plain, 'REQ-BODY-2'],
    ] as const) {
      reply = (_req, res) => xml(res, status, body(code, `the ${code} message`, requestId));
      const e = await s3.updateStatus(TARGET, JOB, 'Ready', 'r').catch((x: unknown) => x);
      expect(e, shape).toBeInstanceOf(ProviderError);
      const pe = e as ProviderError;
      expect(
        {
          kind: pe.kind,
          code: pe.code,
          retryable: pe.retryable,
          httpStatus: pe.httpStatus,
          requestId: pe.requestId,
          message: pe.message,
        },
        shape,
      ).toEqual({ kind, code, retryable, httpStatus: status, requestId, message: `the ${code} message` });
    }
  });

  it('prefers the x-amz-request-id header for the request id', async () => {
    reply = (_req, res) =>
      xml(res, 404, wrapped('NotFoundException', 'no such job', 'REQ-BODY'), {
        'x-amz-request-id': 'REQ-HEADER',
      });
    await expect(s3.describe(TARGET, JOB)).rejects.toMatchObject({
      kind: 'not-found',
      code: 'NotFoundException',
      requestId: 'REQ-HEADER',
    });
  });

  it('classifies a bodiless or non-XML error answer by its status', async () => {
    reply = (_req, res) => {
      res.writeHead(404, { 'x-amz-request-id': 'R404' });
      res.end();
    };
    await expect(s3.describe(TARGET, JOB)).rejects.toMatchObject({
      kind: 'not-found',
      httpStatus: 404,
      requestId: 'R404',
      retryable: false,
    });
    reply = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>Bad Gateway</body></html>');
    };
    await expect(s3.describe(TARGET, JOB)).rejects.toMatchObject({
      kind: 'server',
      httpStatus: 502,
      retryable: true,
    });
  });

  it('treats an unreadable 200 as a retryable server fault', async () => {
    reply = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<DescribeJobResult><Job><JobId>');
    };
    await expect(s3.describe(TARGET, JOB)).rejects.toMatchObject({
      kind: 'server',
      code: 'MalformedResponse',
      httpStatus: 200,
      retryable: true,
    });
  });

  it('never carries the signature or keys an error body echoes', async () => {
    reply = (req, res) =>
      xml(
        res,
        403,
        `<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message>
         <AWSAccessKeyId>${CREDS.accessKeyId}</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 secret-ish</StringToSign>
         <SignatureProvided>${String(req.headers.authorization).slice(-64)}</SignatureProvided><RequestId>RSIG</RequestId></Error>`,
      );
    const e = (await s3.describe(TARGET, JOB).catch((x: unknown) => x)) as ProviderError;
    expect(e).toMatchObject({ kind: 'auth', code: 'SignatureDoesNotMatch', requestId: 'RSIG' });
    const signature = String(requests[0]?.headers.authorization).slice(-64);
    const visible = JSON.stringify({ ...e, message: e.message, cause: e.cause });
    expect(visible).not.toContain(signature);
    expect(visible).not.toContain('StringToSign');
    expect(visible).not.toContain(CREDS.secretAccessKey);
    expect(e.cause).toBeUndefined();
  });
});

describe('transport failures', () => {
  it('classifies no answer within the deadline as a retryable Timeout', async () => {
    reply = () => {}; // hold the request open; afterAll closes the connection
    const e = await s3.describe(TARGET, JOB, { timeoutMs: 150 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e).toMatchObject({ kind: 'timeout', code: 'Timeout', retryable: true, httpStatus: null });
  });

  it("classifies the caller's abort as Aborted", async () => {
    reply = () => {};
    const ac = new AbortController();
    const p = s3.describe(TARGET, JOB, { signal: ac.signal, timeoutMs: 60_000 }).catch((x: unknown) => x);
    while (requests.length === 0) await new Promise((r) => setImmediate(r));
    ac.abort();
    expect(await p).toMatchObject({ kind: 'timeout', code: 'Aborted', retryable: true });
  });

  it('classifies a connection reset as a retryable network error', async () => {
    reply = (req) => req.socket.destroy();
    const e = await s3.describe(TARGET, JOB).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e).toMatchObject({ kind: 'network', code: 'ECONNRESET', retryable: true });
  });

  it('classifies a refused connection as a retryable network error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const dead = createS3Control({ endpoint: `http://127.0.0.1:${port}`, credentials: CREDS });
    try {
      await expect(dead.describe(TARGET, JOB)).rejects.toMatchObject({
        kind: 'network',
        code: 'ECONNREFUSED',
        retryable: true,
      });
    } finally {
      dead.close();
    }
  });

  it('makes one attempt by default: the controller owns retries', async () => {
    reply = (_req, res) =>
      xml(res, 500, '<Error><Code>InternalServiceException</Code><Message>m</Message></Error>');
    await expect(s3.describe(TARGET, JOB)).rejects.toMatchObject({ code: 'InternalServiceException' });
    expect(requests).toHaveLength(1);
  });

  it('retries inside the SDK only when maxAttempts asks for it', async () => {
    const retrying = createS3Control({ endpoint, credentials: CREDS, maxAttempts: 2 });
    try {
      reply = (_req, res) =>
        requests.length === 1
          ? xml(res, 500, '<Error><Code>InternalServiceException</Code><Message>m</Message></Error>')
          : xml(
              res,
              200,
              `<DescribeJobResult><Job><JobId>${JOB}</JobId><Status>Active</Status></Job></DescribeJobResult>`,
            );
      await expect(retrying.describe(TARGET, JOB)).resolves.toMatchObject({ status: 'Active' });
      expect(requests).toHaveLength(2);
    } finally {
      retrying.close();
    }
  });
});

describe('targets and ids', () => {
  const ok = (_req: http.IncomingMessage, res: http.ServerResponse) =>
    xml(res, 200, `<DescribeJobResult><Job><JobId>x</JobId><Status>New</Status></Job></DescribeJobResult>`);

  it.each(['abcde', 'A'.repeat(36), 'job_1-Z', '0123456789'])('accepts the job id %s', async (jobId) => {
    reply = ok;
    await s3.describe(TARGET, jobId);
    expect(only().url).toBe(`/v20180820/jobs/${jobId}`);
  });

  it.each([
    ['too short', 'abcd'],
    ['too long', 'A'.repeat(37)],
    ['slash', 'abc/def'],
    ['dot segment', '..%2F..'],
    ['equals', 'abcde='],
    ['space', 'abc de'],
    ['non-ASCII', 'jöb-12'],
  ])('refuses a job id with %s before sending anything', async (_name, jobId) => {
    reply = ok;
    await expect(s3.describe(TARGET, jobId)).rejects.toMatchObject({ kind: 'invalid', retryable: false });
    await expect(s3.updateStatus(TARGET, jobId, 'Ready', undefined)).rejects.toMatchObject({
      kind: 'invalid',
    });
    await expect(s3.updatePriority(TARGET, jobId, 1)).rejects.toMatchObject({ kind: 'invalid' });
    expect(requests).toHaveLength(0);
  });

  it.each([
    ['missing', undefined],
    ['11 digits', '12345678901'],
    ['13 digits', '1234567890123'],
    ['letters', '12345678901a'],
    ['a host', '123456789012.evil.example'],
  ])('refuses an account that is %s', async (_name, account) => {
    reply = ok;
    await expect(s3.describe({ ...TARGET, account }, JOB)).rejects.toMatchObject({ kind: 'invalid' });
    await expect(s3.list({ ...TARGET, account }, {})).rejects.toMatchObject({ kind: 'invalid' });
    expect(requests).toHaveLength(0);
  });

  it.each(['US-EAST-1', 'us-east-1.evil', '', 'a/b'])('refuses the region %j', async (region) => {
    reply = ok;
    await expect(s3.describe({ ...TARGET, region }, JOB)).rejects.toMatchObject({ kind: 'invalid' });
    expect(requests).toHaveLength(0);
  });

  it.each([-1, 1.5, 2147483648, Number.NaN])('refuses the priority %s', async (priority) => {
    await expect(s3.updatePriority(TARGET, JOB, priority)).rejects.toMatchObject({ kind: 'invalid' });
    expect(requests).toHaveLength(0);
  });

  it('signs for each target region with its own cached, kept-alive client', async () => {
    reply = ok;
    await s3.describe({ ...TARGET, region: 'eu-west-1' }, JOB);
    await s3.describe({ ...TARGET, region: 'eu-west-1' }, JOB);
    await s3.describe(TARGET, JOB);
    expect(requests).toHaveLength(3);
    await expectValidSigV4(requests[0]!, 'eu-west-1');
    await expectValidSigV4(requests[2]!, 'us-east-1');
    expect(requests[1]!.remotePort).toBe(requests[0]!.remotePort);
  });

  it('sends a session token with temporary credentials', async () => {
    const temp = createS3Control({
      endpoint,
      credentials: async () => ({ ...CREDS, sessionToken: 'SESSION-TOKEN-1' }),
    });
    try {
      reply = ok;
      await temp.describe(TARGET, JOB);
      const r = only();
      expect(r.headers['x-amz-security-token']).toBe('SESSION-TOKEN-1');
      expect(String(r.headers.authorization)).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
    } finally {
      temp.close();
    }
  });
});

describe('endpoint', () => {
  it.each([
    [{}, undefined],
    [{ AWS_ENDPOINT_URL_S3_CONTROL: 'http://127.0.0.1:1' }, 'http://127.0.0.1:1'],
    [{ AWS_ENDPOINT_URL: 'http://127.0.0.1:2' }, 'http://127.0.0.1:2'],
    [
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:2', AWS_ENDPOINT_URL_S3_CONTROL: 'http://127.0.0.1:1' },
      'http://127.0.0.1:1',
    ],
    [{ AWS_ENDPOINT_URL_S3_CONTROL: '' }, undefined],
    [
      { AWS_ENDPOINT_URL_S3_CONTROL: 'http://127.0.0.1:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' },
      undefined,
    ],
  ])('configuredEndpoint(%j) is %s', (env, expected) => {
    expect(configuredEndpoint(env)).toBe(expected);
  });

  it('takes AWS_ENDPOINT_URL_S3_CONTROL from the environment and keeps its host', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_S3_CONTROL;
    process.env.AWS_ENDPOINT_URL_S3_CONTROL = endpoint;
    const fromEnv = createS3Control({ credentials: CREDS });
    try {
      reply = (_req, res) =>
        xml(
          res,
          200,
          `<DescribeJobResult><Job><JobId>${JOB}</JobId><Status>New</Status></Job></DescribeJobResult>`,
        );
      await fromEnv.describe(TARGET, JOB);
      expect(only().headers.host).toBe(new URL(endpoint).host);
    } finally {
      fromEnv.close();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_S3_CONTROL;
      else process.env.AWS_ENDPOINT_URL_S3_CONTROL = saved;
    }
  });

  it('fills {account} and {region} in an endpoint template', async () => {
    const templated = createS3Control({ endpoint: `${endpoint}/{region}/{account}`, credentials: CREDS });
    try {
      reply = (_req, res) =>
        xml(
          res,
          200,
          `<DescribeJobResult><Job><JobId>${JOB}</JobId><Status>New</Status></Job></DescribeJobResult>`,
        );
      await templated.describe(TARGET, JOB);
      const r = only();
      expect(r.url).toBe(`/us-east-1/${ACCOUNT}/v20180820/jobs/${JOB}`);
      expect(r.headers.host).toBe(new URL(endpoint).host);
    } finally {
      templated.close();
    }
  });

  it.each(['not a url', 'ftp://127.0.0.1:21'])('refuses the endpoint %j without echoing it', (bad) => {
    expect(() => createS3Control({ endpoint: bad, credentials: CREDS })).toThrow(/S3 Control endpoint/);
  });
});

describe('answers that are not what they seem (issue 12.9, 12.10)', () => {
  const statusResult = (status: string, reason: string) =>
    `<UpdateJobStatusResult xmlns="${NS}"><JobId>${JOB}</JobId><Status>${status}</Status><StatusUpdateReason>${reason}</StatusUpdateReason></UpdateJobStatusResult>`;
  const skewed = (res: http.ServerResponse, serverNow: number) =>
    xml(
      res,
      403,
      '<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>',
      { date: new Date(serverNow).toUTCString() },
    );
  const amzDate = (r: Recorded) => {
    const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(String(r.headers['x-amz-date']))!;
    return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  };

  it('a skewed clock: the SDK takes the server Date, and the call is signed again once on it', async () => {
    const serverNow = Date.now() + 3_600_000;
    let n = 0;
    reply = (_req, res) => (n++ === 0 ? skewed(res, serverNow) : xml(res, 200, statusResult('Ready', 'r')));
    const fresh = createS3Control({ endpoint, credentials: CREDS });
    try {
      await expect(fresh.updateStatus(TARGET, JOB, 'Ready', 'r')).resolves.toMatchObject({ status: 'Ready' });
    } finally {
      fresh.close();
    }
    expect(requests).toHaveLength(2);
    // The second request is dated on the server's clock (an hour ahead of ours), not ours.
    expect(Math.abs(amzDate(requests[1]!) - serverNow)).toBeLessThan(10 * 60_000);
    expect(Math.abs(amzDate(requests[0]!) - serverNow)).toBeGreaterThan(50 * 60_000);
  });

  it('a skew that persists is a configuration fault (the message stays), never a refusal for good', async () => {
    reply = (_req, res) => skewed(res, Date.now() + 3_600_000 + requests.length * 3_600_000);
    const fresh = createS3Control({ endpoint, credentials: CREDS });
    try {
      await expect(fresh.updateStatus(TARGET, JOB, 'Ready', 'r')).rejects.toMatchObject({
        kind: 'config',
        code: 'RequestTimeTooSkewed',
        httpStatus: 403,
      });
    } finally {
      fresh.close();
    }
    expect(requests).toHaveLength(2);
  });

  it.each([301, 302, 307])(
    'a %i is an endpoint fault (config, the message stays), named without userinfo',
    async (status) => {
      reply = (_req, res) => {
        res.writeHead(status, { location: 'https://elsewhere.example/' });
        res.end();
      };
      const e = (await s3.describe(TARGET, JOB).catch((x: unknown) => x)) as ProviderError;
      expect(e).toMatchObject({
        kind: 'config',
        code: 'UnexpectedRedirect',
        httpStatus: status,
        retryable: false,
      });
      expect(e.message).toContain(endpoint);
    },
  );

  it('an UpdateJobStatus answer about another job is malformed (retryable), not applied', async () => {
    reply = (_req, res) =>
      xml(
        res,
        200,
        `<UpdateJobStatusResult xmlns="${NS}"><JobId>another-job-00000</JobId><Status>Ready</Status></UpdateJobStatusResult>`,
      );
    await expect(s3.updateStatus(TARGET, JOB, 'Ready', undefined)).rejects.toMatchObject({
      code: 'MalformedResponse',
      retryable: true,
    });
  });

  it('an UpdateJobPriority answer about another job is malformed (retryable), not applied', async () => {
    reply = (_req, res) =>
      xml(
        res,
        200,
        `<UpdateJobPriorityResult xmlns="${NS}"><JobId>another-job-00000</JobId><Priority>3</Priority></UpdateJobPriorityResult>`,
      );
    await expect(s3.updatePriority(TARGET, JOB, 3)).rejects.toMatchObject({
      code: 'MalformedResponse',
      retryable: true,
    });
  });
});
