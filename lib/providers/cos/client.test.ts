/**
 * The COS client against a local HTTP server that records each raw request: the bytes on the wire
 * (path, query encoding, headers), a signature the verifier accepts, every answer decoded and
 * every documented error classified, plus timeouts and dropped connections.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorKind } from '../errors';
import { EXAMPLE_TARGETS } from '../examples';
import { closeIdleConnections, type HttpRequest } from '../http';
import type { Credentials, Target } from '../types';
import { createCosControl } from './client';
import { verifyCosRequest } from './sign';

const TARGET: Target = EXAMPLE_TARGETS.cos;
const KEYS: Credentials = { accessKeyId: 'AKIDclientTest', secretAccessKey: 'client-secret-key' };
const NOW_MS = 1_790_000_000_750;
const NOW_S = 1_790_000_000;

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}
type Responder = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let server: http.Server;
let port: number;
let endpoint: string;
let seen: Recorded[] = [];
let respond: Responder = (_req, res) => res.end();

const xml =
  (body: string, status = 200, headers: Record<string, string> = {}): Responder =>
  (_req, res) => {
    res.writeHead(status, {
      'content-type': 'application/xml',
      'x-cos-request-id': 'hdr-request-id',
      ...headers,
    });
    res.end(body);
  };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => respond(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  endpoint = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  closeIdleConnections();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
});

function control(credentials: Credentials = KEYS) {
  return createCosControl({ endpoint, credentials: async () => credentials, now: () => NOW_MS });
}

/** The one request the server saw, after checking that its signature verifies. */
function onlyRequest(keys: Credentials = KEYS): Recorded {
  expect(seen).toHaveLength(1);
  const r = seen[0]!;
  const q = r.url.indexOf('?');
  const verdict = verifyCosRequest(
    {
      method: r.method,
      rawPath: q < 0 ? r.url : r.url.slice(0, q),
      rawQuery: q < 0 ? '' : r.url.slice(q + 1),
      headers: r.headers,
    },
    (id) => (id === keys.accessKeyId ? keys.secretAccessKey : undefined),
    NOW_S,
  );
  expect(verdict).toEqual({ ok: true, secretId: keys.accessKeyId });
  return r;
}

const JOB_ID = "job:1/2?x=#%&+!*'()";
const JOB_PATH = 'job%3A1%2F2%3Fx%3D%23%25%26%2B%21%2A%27%28%29';
const REASON = 'off-peak 窗口 🌙 a&b=c+d%/e';
const REASON_QUERY = 'off-peak%20%E7%AA%97%E5%8F%A3%20%F0%9F%8C%99%20a%26b%3Dc%2Bd%25%2Fe';

describe('requests on the wire', () => {
  it('UpdateJobStatus: path, query encoding, host, x-cos-appid and a valid signature', async () => {
    respond = xml(
      `<UpdateJobStatusResult><JobId>${"job:1/2?x=#%&amp;+!*'()"}</JobId><Status>Ready</Status><StatusUpdateReason>${REASON.replace('&', '&amp;')}</StatusUpdateReason></UpdateJobStatusResult>`,
    );
    const result = await control().updateStatus(TARGET, JOB_ID, 'Ready', REASON);
    expect(result).toEqual({ jobId: JOB_ID, status: 'Ready', statusUpdateReason: REASON });

    const r = onlyRequest();
    expect(r.method).toBe('POST');
    expect(r.url).toBe(
      `/jobs/${JOB_PATH}/status?requestedJobStatus=Ready&statusUpdateReason=${REASON_QUERY}`,
    );
    expect(r.headers.host).toBe(`127.0.0.1:${port}`);
    expect(r.headers['x-cos-appid']).toBe(EXAMPLE_TARGETS.cos.appId);
    expect(r.headers['x-cos-security-token']).toBeUndefined();
    expect(r.headers['content-length']).toBe('0');
    expect(r.headers.authorization).toMatch(
      new RegExp(
        `^q-sign-algorithm=sha1&q-ak=AKIDclientTest&q-sign-time=${NOW_S - 1};${NOW_S + 899}&q-key-time=${NOW_S - 1};${NOW_S + 899}&q-header-list=host;x-cos-appid&q-url-param-list=requestedjobstatus;statusupdatereason&q-signature=[0-9a-f]{40}$`,
      ),
    );
  });

  it('UpdateJobStatus with an empty reason sends no statusUpdateReason at all', async () => {
    respond = xml(
      '<UpdateJobStatusResult><JobId>j1</JobId><Status>Cancelling</Status></UpdateJobStatusResult>',
    );
    const result = await control().updateStatus(TARGET, 'j1', 'Cancelled', '');
    expect(result).toEqual({ jobId: 'j1', status: 'Cancelling', statusUpdateReason: null });
    expect(onlyRequest().url).toBe('/jobs/j1/status?requestedJobStatus=Cancelled');
  });

  it('temporary keys send and sign x-cos-security-token', async () => {
    const tmp = { accessKeyId: 'AKIDtmp', secretAccessKey: 'tmp-secret', sessionToken: 'session-token-123' };
    respond = xml('<UpdateJobStatusResult><JobId>j1</JobId><Status>Ready</Status></UpdateJobStatusResult>');
    await control(tmp).updateStatus(TARGET, 'j1', 'Ready', undefined);
    const r = onlyRequest(tmp);
    expect(r.headers['x-cos-security-token']).toBe('session-token-123');
    expect(r.headers.authorization).toContain('&q-header-list=host;x-cos-appid;x-cos-security-token&');
  });

  it('UpdateJobPriority', async () => {
    respond = xml(
      '<UpdateJobPriorityResult><JobId>0042</JobId><Priority>2147483647</Priority></UpdateJobPriorityResult>',
    );
    expect(await control().updatePriority(TARGET, '0042', 2147483647)).toEqual({
      jobId: '0042',
      priority: 2147483647,
    });
    const r = onlyRequest();
    expect([r.method, r.url]).toEqual(['POST', '/jobs/0042/priority?priority=2147483647']);
  });

  it('DescribeJob', async () => {
    respond = xml(`<?xml version="1.0" encoding="UTF-8"?>
<DescribeJobResult><Job>
  <CreationTime>2026-11-23T22:00:00Z</CreationTime><Description>nightly-eu</Description>
  <JobId>53dc6228</JobId><Priority>10</Priority><Status>Suspended</Status>
  <StatusUpdateReason>waiting</StatusUpdateReason>
</Job></DescribeJobResult>`);
    expect(await control().describe(TARGET, '53dc6228')).toEqual({
      jobId: '53dc6228',
      status: 'Suspended',
      priority: 10,
      description: 'nightly-eu',
      creationTime: '2026-11-23T22:00:00Z',
      statusUpdateReason: 'waiting',
      progress: null,
      failureReasons: [],
      report: null,
      terminationDate: null,
    });
    const r = onlyRequest();
    expect([r.method, r.url]).toEqual(['GET', '/jobs/53dc6228']);
    expect(r.headers['content-length']).toBeUndefined();
  });
});

const member = (id: string, status: string) =>
  `<member><JobId>${id}</JobId><Status>${status}</Status></member>`;
const listBody = (members: string[], token = '') =>
  `<ListJobsResult><Jobs>${members.join('')}</Jobs><NextToken>${token}</NextToken></ListJobsResult>`;

describe('ListJobs pagination', () => {
  it('follows nextToken for one status', async () => {
    const pages: Record<string, string> = {
      '/jobs?jobStatuses=Suspended&maxResults=2': listBody(
        [member('a', 'Suspended'), member('b+1', 'Suspended')],
        'b+1',
      ),
      '/jobs?jobStatuses=Suspended&maxResults=2&nextToken=b%2B1': listBody([member('c', 'Suspended')]),
    };
    respond = (req, res) =>
      xml(pages[req.url ?? ''] ?? '<Error><Code>NotStubbed</Code></Error>', pages[req.url ?? ''] ? 200 : 400)(
        req,
        res,
      );
    const cos = control();
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await cos.list(TARGET, { statuses: ['Suspended'], maxResults: 2, nextToken });
      ids.push(...page.jobs.map((j) => j.jobId));
      nextToken = page.nextToken ?? undefined;
    } while (nextToken !== undefined);
    expect(ids).toEqual(['a', 'b+1', 'c']);
    expect(seen.map((r) => r.url)).toEqual(Object.keys(pages));
  });

  it('lists every job when no status is given', async () => {
    respond = xml(listBody([member('a', 'Active'), member('b', 'Complete')]));
    const page = await control().list(TARGET, {});
    expect(page).toMatchObject({ jobs: [{ jobId: 'a' }, { jobId: 'b' }], nextToken: null });
    expect(onlyRequest().url).toBe('/jobs');
  });

  it('asks for several statuses one at a time, behind one opaque cursor', async () => {
    const pages: Record<string, string> = {
      '/jobs?jobStatuses=Suspended&maxResults=1': listBody([member('s1', 'Suspended')], 's1'),
      '/jobs?jobStatuses=Suspended&maxResults=1&nextToken=s1': listBody([]),
      '/jobs?jobStatuses=Paused&maxResults=1': listBody([member('p1', 'Paused')], 'p1'),
      '/jobs?jobStatuses=Paused&maxResults=1&nextToken=p1': listBody([]),
    };
    respond = (req, res) =>
      xml(pages[req.url ?? ''] ?? '<Error><Code>NotStubbed</Code></Error>', pages[req.url ?? ''] ? 200 : 400)(
        req,
        res,
      );
    const cos = control();
    const ids: string[] = [];
    let nextToken: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await cos.list(TARGET, {
        statuses: ['Suspended', 'Paused', 'Suspended'],
        maxResults: 1,
        nextToken,
      });
      ids.push(...page.jobs.map((j) => j.jobId));
      nextToken = page.nextToken ?? undefined;
      if (nextToken === undefined) break;
    }
    expect(ids).toEqual(['s1', 'p1']);
    expect(nextToken).toBeUndefined();
    expect(seen.map((r) => r.url)).toEqual(Object.keys(pages));
  });

  it('refuses a cursor that does not belong to the statuses', async () => {
    await expect(
      control().list(TARGET, { statuses: ['Suspended', 'Paused'], nextToken: '7:x' }),
    ).rejects.toMatchObject({ kind: 'invalid', code: 'InvalidNextToken' });
    expect(seen).toHaveLength(0);
  });
});

const errorDoc = (code: string, message: string, requestId?: string) =>
  `<?xml version='1.0' encoding='utf-8' ?><Error><Code>${code}</Code><Message>${message}</Message>` +
  `<Resource>x</Resource>${requestId ? `<RequestId>${requestId}</RequestId>` : ''}<TraceId>t</TraceId></Error>`;

describe('errors', () => {
  it.each<[string, number, string, ErrorKind, string, string, boolean]>([
    [
      'InvalidArgument',
      400,
      errorDoc('InvalidArgument', 'must be Cancelled or Ready', 'rid-1'),
      'invalid',
      'InvalidArgument',
      'rid-1',
      false,
    ],
    [
      'InvalidRequest (completed)',
      400,
      errorDoc('InvalidRequest', 'The specified job has already been completed', 'rid-2'),
      'conflict',
      'InvalidRequest',
      'rid-2',
      false,
    ],
    [
      'InvalidRequest (status change)',
      400,
      errorDoc('InvalidRequest', 'Error with the job status change', 'rid-3'),
      'conflict',
      'InvalidRequest',
      'rid-3',
      false,
    ],
    [
      'NoSuchJob',
      404,
      errorDoc('NoSuchJob', 'The specified job does not exist', 'rid-4'),
      'not-found',
      'NoSuchJob',
      'rid-4',
      false,
    ],
    [
      'AccessDenied',
      403,
      errorDoc('AccessDenied', 'Access Denied.', 'rid-5'),
      'auth',
      'AccessDenied',
      'rid-5',
      false,
    ],
    [
      'SignatureDoesNotMatch',
      403,
      errorDoc('SignatureDoesNotMatch', 'bad signature', 'rid-6'),
      'auth',
      'SignatureDoesNotMatch',
      'rid-6',
      false,
    ],
    [
      'InvalidAccessKeyId',
      403,
      errorDoc('InvalidAccessKeyId', 'unknown key'),
      'auth',
      'InvalidAccessKeyId',
      'hdr-request-id',
      false,
    ],
    [
      'SlowDown',
      503,
      errorDoc('SlowDown', 'Please reduce your request rate.', 'rid-8'),
      'throttled',
      'SlowDown',
      'rid-8',
      true,
    ],
    [
      '429 without a known code',
      429,
      errorDoc('TooManyRequests', 'rate', 'rid-9'),
      'throttled',
      'TooManyRequests',
      'rid-9',
      true,
    ],
    [
      'InternalError',
      500,
      errorDoc('InternalError', 'internal', 'rid-10'),
      'server',
      'InternalError',
      'rid-10',
      true,
    ],
    [
      "a proxy's HTML 502",
      502,
      '<html><body><h1>502 Bad Gateway</h1></body></html>',
      'server',
      'BadGateway',
      'hdr-request-id',
      true,
    ],
  ])('%s', async (_name, status, body, kind, code, requestId, retryable) => {
    respond = xml(body, status);
    const e = await control()
      .updateStatus(TARGET, 'j1', 'Ready', undefined)
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'ProviderError', kind, code, requestId, httpStatus: status, retryable });
    expect(seen).toHaveLength(1);
  });

  it('no answer within timeoutMs is a retryable Timeout', async () => {
    respond = () => {}; // never answers; afterAll closes the socket
    const e = await control()
      .describe(TARGET, 'slow', { timeoutMs: 50 })
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'ProviderError', kind: 'timeout', code: 'Timeout', retryable: true });
  });

  it('the client-wide timeoutMs applies when a call sets none', async () => {
    respond = () => {};
    const cos = createCosControl({ endpoint, credentials: async () => KEYS, timeoutMs: 50 });
    await expect(cos.describe(TARGET, 'slow')).rejects.toMatchObject({ kind: 'timeout', code: 'Timeout' });
  });

  it('a dropped connection is a retryable network error', async () => {
    respond = (req) => req.socket.destroy();
    const e = await control()
      .describe(TARGET, 'reset')
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'ProviderError', kind: 'network', retryable: true });
  });

  it.each<[string, Target]>([
    [
      'no appId',
      { provider: 'cos', region: EXAMPLE_TARGETS.cos.region, account: EXAMPLE_TARGETS.cos.account },
    ],
    ['a non-numeric appId', { ...TARGET, appId: '125\r\nx-evil: 1' }],
    ['a region that would shape the host', { ...TARGET, region: 'evil.com/x' }],
  ])('a target with %s is refused before anything is sent', async (_name, target) => {
    await expect(control().describe(target, 'j1')).rejects.toMatchObject({ kind: 'invalid' });
    expect(seen).toHaveLength(0);
  });
});

describe('endpoints', () => {
  async function firstRequest(endpointTemplate: string | undefined): Promise<HttpRequest> {
    const sent: HttpRequest[] = [];
    const cos = createCosControl({
      endpoint: endpointTemplate,
      credentials: async () => KEYS,
      transport: async (req) => {
        sent.push(req);
        return {
          status: 200,
          headers: {},
          body: '<DescribeJobResult><Job><JobId>j1</JobId><Status>New</Status></Job></DescribeJobResult>',
        };
      },
    });
    await cos.describe(TARGET, 'j1');
    return sent[0]!;
  }

  it.each<[string | undefined, string, string]>([
    [
      undefined,
      'https://100000000001.cos-control.ap-guangzhou.myqcloud.com/jobs/j1',
      '100000000001.cos-control.ap-guangzhou.myqcloud.com',
    ],
    [
      'https://{account}.cos-control.{region}.tencentcos.cn/',
      'https://100000000001.cos-control.ap-guangzhou.tencentcos.cn/jobs/j1',
      '100000000001.cos-control.ap-guangzhou.tencentcos.cn',
    ],
    ['https://cos.example:443', 'https://cos.example/jobs/j1', 'cos.example'],
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000/jobs/j1', '127.0.0.1:9000'],
  ])('%s → %s with Host %s', async (template, url, host) => {
    const req = await firstRequest(template);
    expect(req.url).toBe(url);
    expect(req.headers.host).toBe(host);
  });

  it.each([
    'ftp://{account}.example',
    'https://{account}.example/prefix',
    'not a url {region}',
    'https://u:p@host',
  ])('refuses the template %s when the client is created', (template) => {
    expect(() => createCosControl({ endpoint: template, credentials: async () => KEYS })).toThrow(
      /COS endpoint/,
    );
  });
});
