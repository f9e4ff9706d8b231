/**
 * COS and OSS against answers that are not what they seem (issue 12.9, 12.10): a refusal because
 * our clock is off is corrected once from the server's `Date` and is never a refusal for good; a
 * redirect is an endpoint fault; a 204 is reported as a 204; an answer about another job is
 * malformed. Both clients behave alike, so one table drives both.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCosControl } from './cos/client';
import { EXAMPLE_TARGETS } from './examples';
import { closeIdleConnections } from './http';
import { createOssControl } from './oss/client';
import { OSS_DEFAULT_CANCEL_REASON } from './rules';
import type { JobControl, Target } from './types';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}
type Reply = { status: number; body?: string; headers?: Record<string, string> };

let server: http.Server;
let endpoint: string;
let seen: Seen[] = [];
let script: (r: Seen, n: number) => Reply = () => ({ status: 500 });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const r = { url: req.url ?? '', headers: req.headers };
    seen.push(r);
    req.resume();
    req.on('end', () => {
      const reply = script(r, seen.length);
      res.writeHead(reply.status, { 'content-type': 'application/xml', ...reply.headers });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  closeIdleConnections();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
});

const KEYS = { accessKeyId: 'AKIDanswersTest0001', secretAccessKey: 'answers-secret-key-0001' };
const HOUR = 3_600_000;

interface Case {
  make(): JobControl;
  target: Target;
  /** The signing time of a request, epoch ms (to the second). */
  signedAt(r: Seen): number;
  skew: Array<[string, string]>;
  statusResult(jobId: string): string;
  priorityResult(jobId: string): string;
}

const stamp = (s: string) => {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(s)!;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
};
const error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>rid</RequestId></Error>`;

const CASES: Record<'cos' | 'oss', Case> = {
  cos: {
    make: () => createCosControl({ endpoint, credentials: async () => KEYS }),
    target: EXAMPLE_TARGETS.cos,
    signedAt: (r) => Number(/q-sign-time=(\d+);/.exec(String(r.headers.authorization))![1]) * 1000,
    skew: [
      ['RequestTimeTooSkewed', 'The difference between the request time and the server time is too large.'],
      ['AccessDenied', 'Request has expired'],
    ],
    statusResult: (id) =>
      `<UpdateJobStatusResult><JobId>${id}</JobId><Status>Ready</Status></UpdateJobStatusResult>`,
    priorityResult: (id) =>
      `<UpdateJobPriorityResult><JobId>${id}</JobId><Priority>3</Priority></UpdateJobPriorityResult>`,
  },
  oss: {
    make: () => createOssControl({ endpoint, credentials: async () => KEYS }),
    target: EXAMPLE_TARGETS.oss,
    signedAt: (r) => stamp(String(r.headers['x-oss-date'])),
    skew: [
      ['RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'],
    ],
    statusResult: (id) =>
      `<UpdateJobStatusResult><JobId>${id}</JobId><Status>Ready</Status></UpdateJobStatusResult>`,
    priorityResult: (id) =>
      `<UpdateJobPriorityResult><JobId>${id}</JobId><Priority>3</Priority></UpdateJobPriorityResult>`,
  },
};

describe.each(Object.entries(CASES))('%s', (_provider, c) => {
  it.each(c.skew)('%s "%s": re-signed once on the server clock, then applied', async (code, message) => {
    const serverNow = Date.now() + HOUR;
    script = (_r, n) =>
      n === 1
        ? { status: 403, body: error(code, message), headers: { date: new Date(serverNow).toUTCString() } }
        : { status: 200, body: c.statusResult('job-1') };
    const control = c.make();
    await expect(control.updateStatus(c.target, 'job-1', 'Ready', 'r')).resolves.toMatchObject({
      status: 'Ready',
    });
    expect(seen).toHaveLength(2);
    expect(Math.abs(c.signedAt(seen[0]!) - serverNow)).toBeGreaterThan(HOUR / 2);
    expect(Math.abs(c.signedAt(seen[1]!) - serverNow)).toBeLessThan(60_000);
    // The offset is the client's: its next call is signed on the server clock from the start.
    script = () => ({ status: 200, body: c.priorityResult('job-1') });
    await control.updatePriority(c.target, 'job-1', 3);
    expect(Math.abs(c.signedAt(seen[2]!) - serverNow)).toBeLessThan(60_000);
  });

  it.each(c.skew)(
    '%s that persists is config (failed, the message stays), never a refusal',
    async (code, message) => {
      script = (_r, n) => ({
        status: 403,
        body: error(code, message),
        headers: { date: new Date(Date.now() + n * HOUR).toUTCString() },
      });
      await expect(c.make().updateStatus(c.target, 'job-1', 'Ready', 'r')).rejects.toMatchObject({
        kind: 'config',
        code,
        message,
        httpStatus: 403,
      });
      expect(seen).toHaveLength(2);
    },
  );

  it('a skew refusal without a Date header is not retried, and still not a refusal', async () => {
    script = () => ({ status: 403, body: error(...c.skew[0]!), headers: { date: 'not a date' } });
    await expect(c.make().updateStatus(c.target, 'job-1', 'Ready', 'r')).rejects.toMatchObject({
      kind: 'config',
    });
    expect(seen).toHaveLength(1);
  });

  it.each([301, 302, 307, 308])(
    'a %i is UnexpectedRedirect (config), naming the endpoint',
    async (status) => {
      script = () => ({ status, headers: { location: 'https://elsewhere.example/' } });
      const e = await c
        .make()
        .describe(c.target, 'job-1')
        .catch((x: unknown) => x);
      expect(e).toMatchObject({
        kind: 'config',
        code: 'UnexpectedRedirect',
        httpStatus: status,
        retryable: false,
      });
      expect((e as Error).message).toContain(endpoint);
    },
  );

  it('a 204 without a body is a MalformedResponse reported as 204, not 200', async () => {
    script = () => ({ status: 204 });
    await expect(c.make().updateStatus(c.target, 'job-1', 'Ready', 'r')).rejects.toMatchObject({
      code: 'MalformedResponse',
      httpStatus: 204,
      retryable: true,
    });
  });

  it.each([
    [
      'UpdateJobStatus',
      (j: JobControl, t: Target) => j.updateStatus(t, 'job-1', 'Ready', 'r'),
      c.statusResult,
    ],
    ['UpdateJobPriority', (j: JobControl, t: Target) => j.updatePriority(t, 'job-1', 3), c.priorityResult],
  ] as const)(
    '%s answered about another job is a MalformedResponse, not applied',
    async (_op, call, result) => {
      script = () => ({ status: 200, body: result('job-2') });
      await expect(call(c.make(), c.target)).rejects.toMatchObject({
        code: 'MalformedResponse',
        retryable: true,
      });
    },
  );
});

describe('OSS Cancelled without a reason (issue 12.12)', () => {
  it.each([undefined, ''])('sends the documented default reason (reason %j)', async (reason) => {
    script = () => ({ status: 200, body: CASES.oss.statusResult('job-1') });
    await createOssControl({ endpoint, credentials: async () => KEYS }).updateStatus(
      CASES.oss.target,
      'job-1',
      'Cancelled',
      reason,
    );
    expect(seen.map((r) => r.url)).toEqual([
      '/?batchJobStatus&batchJobId=job-1&requestedJobStatus=Cancelled&statusUpdateReason=cancelled%20by%20jobctl',
    ]);
    expect(OSS_DEFAULT_CANCEL_REASON).toBe('cancelled by jobctl');
  });

  it('a Ready without a reason sends none', async () => {
    script = () => ({ status: 200, body: CASES.oss.statusResult('job-1') });
    await createOssControl({ endpoint, credentials: async () => KEYS }).updateStatus(
      CASES.oss.target,
      'job-1',
      'Ready',
      undefined,
    );
    expect(seen.map((r) => r.url)).toEqual(['/?batchJobStatus&batchJobId=job-1&requestedJobStatus=Ready']);
  });
});
