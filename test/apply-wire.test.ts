/**
 * `jobctl apply` against a scripted server that speaks each provider's job-control wire over
 * 127.0.0.1 and records every request as received: the exact request line, the headers the
 * provider requires, a signature that verifies, each outcome kind, a retry on 503 / throttling,
 * and no retry on a refusal. (The sandbox covers lifecycle; this pins the bytes.)
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../lib/cli/main';
import type { Outcome } from '../lib/core/outcome';
import { parseQuery } from '../lib/local/sandbox/query';
import { verifySigV4 } from '../lib/local/sandbox/s3/verify';
import { verifyCosRequest } from '../lib/providers/cos/sign';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
import { verifyOssRequest } from '../lib/providers/oss/sign';

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  verified: boolean;
}

type Reply = { status: number; body: string; headers?: Record<string, string> };

const KEYS = {
  TENCENTCLOUD_SECRETID: 'AKIDwire0000000000000000000000000000',
  TENCENTCLOUD_SECRETKEY: 'wireCosKey000000000000000000000000',
  TENCENTCLOUD_SESSIONTOKEN: 'cos-session-token',
  ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIwire000000000000',
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'wireOssSecret0000000000000000',
  AWS_ACCESS_KEY_ID: 'AKIAWIRE000000000000',
  AWS_SECRET_ACCESS_KEY: 'wire/S3/secret/000000000000000000000000',
};

/** A server answering from a per-request script; everything received is recorded. */
class Scripted {
  server = http.createServer((req, res) => this.handle(req, res));
  recorded: Recorded[] = [];
  script: (r: Recorded) => Reply = () => ({ status: 500, body: '' });
  url = '';

  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    req.resume();
    req.on('end', async () => {
      const [rawPath = '', rawQuery = ''] = (req.url ?? '').split('?');
      const h = req.headers as Record<string, string>;
      let verified = false;
      if (rawPath.startsWith('/v20180820'))
        verified = (
          await verifySigV4(
            { method: req.method!, rawPath, query: parseQuery(rawQuery), headers: h, body: '' },
            (id) => (id === KEYS.AWS_ACCESS_KEY_ID ? KEYS.AWS_SECRET_ACCESS_KEY : undefined),
            Date.now(),
          )
        ).ok;
      else if (rawPath.startsWith('/jobs'))
        verified = verifyCosRequest(
          { method: req.method!, rawPath, rawQuery, headers: h },
          (id) => (id === KEYS.TENCENTCLOUD_SECRETID ? KEYS.TENCENTCLOUD_SECRETKEY : undefined),
          Math.floor(Date.now() / 1000),
        ).ok;
      else
        verified = verifyOssRequest(
          { method: req.method!, rawPath, rawQuery, headers: h },
          (id) =>
            id === KEYS.ALIBABA_CLOUD_ACCESS_KEY_ID ? KEYS.ALIBABA_CLOUD_ACCESS_KEY_SECRET : undefined,
          new Date(),
        ).ok;
      const rec: Recorded = { method: req.method!, url: req.url!, headers: req.headers, verified };
      this.recorded.push(rec);
      const reply = this.script(rec);
      res.writeHead(reply.status, { 'content-type': 'application/xml', ...reply.headers });
      res.end(reply.body);
    });
  }
}

const srv = new Scripted();
beforeAll(() => srv.start());
afterAll(() => new Promise<void>((r) => srv.server.close(() => r())));

async function apply(
  lines: object[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; outcomes: Outcome[] }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.resume();
  stdin.end(lines.map((l) => JSON.stringify(l)).join('\n'));
  const env = {
    ...KEYS,
    AWS_REGION: 'us-east-1',
    COS_ENDPOINT: srv.url,
    OSS_ENDPOINT: srv.url,
    AWS_ENDPOINT_URL_S3_CONTROL: srv.url,
    JOBCTL_RETRY_BUDGET_MS: '5000',
    ...extraEnv,
  };
  const code = await main(['apply', '-', '--concurrency', '1'], {
    stdin,
    stdout,
    stderr,
    env,
    interrupted: new Promise(() => undefined),
  });
  return {
    code,
    outcomes: out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  };
}

// ── each provider's wire, as its documentation gives it ────────────────────────────────────────

const cosErr = (code: string, status: number) => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message><RequestId>req-${code}</RequestId></Error>`,
});
const ossErr = (code: string, status: number) => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message><RequestId>req-${code}</RequestId><EC>0017-00000000</EC></Error>`,
});
const s3Err = (code: string, status: number) => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>${code}</Code><Message>m</Message></Error><RequestId>req-${code}</RequestId></ErrorResponse>`,
  headers: { 'x-amzn-errortype': code },
});
const ns = 'xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"';
const statusResult = (jobId: string, s: string, xmlns = '') => ({
  status: 200,
  body: `<?xml version="1.0" encoding="UTF-8"?><UpdateJobStatusResult${xmlns ? ` ${xmlns}` : ''}><JobId>${jobId}</JobId><Status>${s}</Status></UpdateJobStatusResult>`,
});
const describeBody = (jobId: string, s: string, xmlns = '') => ({
  status: 200,
  body: `<?xml version="1.0" encoding="UTF-8"?><DescribeJobResult${xmlns ? ` ${xmlns}` : ''}><Job><JobId>${jobId}</JobId><Status>${s}</Status><Priority>10</Priority><Description>nightly-x</Description><CreationTime>${xmlns ? '2026-11-23T00:00:00Z' : '1795400000'}</CreationTime></Job></DescribeJobResult>`,
});

interface Wire {
  target: Record<string, string>;
  ids: { ok: string; busy: string; missing: string; done: string; throttled: string };
  /** The request line the provider documents for UpdateJobStatus Ready with a reason. */
  statusLine(jobId: string, reason: string): string;
  isStatus(url: string): boolean;
  jobOf(url: string): string;
  ok(jobId: string): Reply;
  describe(jobId: string, status: string): Reply;
  err(code: 'notFound' | 'conflict' | 'slowDown' | 'throttle'): Reply;
  codes: { notFound: string; conflict: string };
  requiredHeaders: Record<string, string | RegExp>;
}

const reason = 'off-peak 窗口 & 🌙 100%';
const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const WIRES: Record<'cos' | 'oss' | 's3', Wire> = {
  cos: {
    target: EXAMPLE_TARGETS.cos,
    ids: {
      ok: 'job-ok',
      busy: 'job-busy',
      missing: 'job-missing',
      done: 'job-done',
      throttled: 'job-throttled',
    },
    statusLine: (id, r) => `/jobs/${id}/status?requestedJobStatus=Ready&statusUpdateReason=${enc(r)}`,
    isStatus: (u) => /^\/jobs\/[^/]+\/status/.test(u),
    jobOf: (u) => decodeURIComponent(u.split('?')[0]!.split('/')[2]!),
    ok: (id) => statusResult(id, 'Ready'),
    describe: (id, s) => describeBody(id, s),
    err: (c) =>
      ({
        notFound: cosErr('NoSuchJob', 404),
        conflict: cosErr('InvalidRequest', 400),
        slowDown: cosErr('SlowDown', 503),
        throttle: cosErr('TooManyRequests', 429),
      })[c],
    codes: { notFound: 'NoSuchJob', conflict: 'InvalidRequest' },
    requiredHeaders: {
      'x-cos-appid': EXAMPLE_TARGETS.cos.appId,
      'x-cos-security-token': 'cos-session-token',
      authorization: /^q-sign-algorithm=sha1&q-ak=AKIDwire/,
    },
  },
  oss: {
    target: EXAMPLE_TARGETS.oss,
    ids: {
      ok: 'b2s=',
      busy: 'YnVzeQ==',
      missing: 'bWlzc2luZw==',
      done: 'ZG9uZQ==',
      throttled: 'dGhyb3R0bGVk',
    },
    statusLine: (id, r) =>
      `/?batchJobStatus&batchJobId=${enc(id)}&requestedJobStatus=Ready&statusUpdateReason=${enc(r)}`,
    isStatus: (u) => u.startsWith('/?batchJobStatus'),
    jobOf: (u) => new URLSearchParams(u.slice(2)).get('batchJobId')!,
    ok: (id) => statusResult(id, 'Ready'),
    describe: (id, s) => describeBody(id, s),
    err: (c) =>
      ({
        notFound: ossErr('NoSuchJob', 404),
        conflict: ossErr('InvalidRequest', 400),
        slowDown: ossErr('SlowDown', 503),
        throttle: ossErr('Throttling', 429),
      })[c],
    codes: { notFound: 'NoSuchJob', conflict: 'InvalidRequest' },
    requiredHeaders: {
      'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-oss-date': /^\d{8}T\d{6}Z$/,
      authorization:
        /^OSS4-HMAC-SHA256 Credential=LTAIwire000000000000\/\d{8}\/cn-hangzhou\/oss\/aliyun_v4_request/,
    },
  },
  s3: {
    target: EXAMPLE_TARGETS.s3,
    ids: {
      ok: 'job-ok-1',
      busy: 'job-busy-1',
      missing: 'job-missing-1',
      done: 'job-done-1',
      throttled: 'job-throttled-1',
    },
    statusLine: (id, r) =>
      `/v20180820/jobs/${id}/status?requestedJobStatus=Ready&statusUpdateReason=${enc(r)}`,
    isStatus: (u) => /^\/v20180820\/jobs\/[^/]+\/status/.test(u),
    jobOf: (u) => u.split('?')[0]!.split('/')[3]!,
    ok: (id) => statusResult(id, 'Ready', ns),
    describe: (id, s) => describeBody(id, s, ns),
    err: (c) =>
      ({
        notFound: s3Err('NotFoundException', 404),
        conflict: s3Err('JobStatusException', 400),
        slowDown: s3Err('InternalServiceException', 500),
        throttle: s3Err('TooManyRequestsException', 400),
      })[c],
    codes: { notFound: 'NotFoundException', conflict: 'JobStatusException' },
    requiredHeaders: {
      'x-amz-account-id': EXAMPLE_TARGETS.s3.account,
      authorization: /^AWS4-HMAC-SHA256 Credential=AKIAWIRE/,
    },
  },
};

describe.each(Object.entries(WIRES))('%s', (_, w) => {
  it('every outcome kind, with retries only where they can help', async () => {
    const calls = new Map<string, number>();
    srv.recorded = [];
    srv.script = (r) => {
      if (!w.isStatus(r.url)) {
        // DescribeJob after a refusal: the done job is Complete (a Ready is already reached).
        const id = w.jobOf(r.url);
        return w.describe(id, id === w.ids.done ? 'Complete' : 'Suspended');
      }
      const id = w.jobOf(r.url);
      const n = (calls.get(id) ?? 0) + 1;
      calls.set(id, n);
      if (id === w.ids.ok) return w.ok(id);
      if (id === w.ids.busy) return n === 1 ? w.err('slowDown') : w.ok(id);
      if (id === w.ids.throttled) return n <= 2 ? w.err('throttle') : w.ok(id);
      if (id === w.ids.missing) return w.err('notFound');
      return w.err('conflict');
    };
    const msg = (jobId: string, extra: object = {}) => ({
      ...w.target,
      id: `t/${jobId}`,
      jobId,
      action: 'UpdateJobStatus',
      requestedJobStatus: 'Ready',
      statusUpdateReason: reason,
      ...extra,
    });
    const { code, outcomes } = await apply([
      msg(w.ids.ok),
      msg(w.ids.busy),
      msg(w.ids.throttled),
      msg(w.ids.missing),
      msg(w.ids.done),
      msg(w.ids.ok, { id: 'expired', notAfter: '2020-01-01T00:00:00Z' }),
      { ...msg(w.ids.ok), id: 'invalid', requestedJobStatus: 'Paused' },
    ]);
    const kinds = Object.fromEntries(
      outcomes.map((o) => [o.id, [o.outcome, o.attempts, o.error?.code ?? null]]),
    );
    expect(kinds).toEqual({
      [`t/${w.ids.ok}`]: ['applied', 1, null],
      [`t/${w.ids.busy}`]: ['applied', 2, null],
      [`t/${w.ids.throttled}`]: ['applied', 3, null],
      [`t/${w.ids.missing}`]: ['rejected', 1, w.codes.notFound],
      [`t/${w.ids.done}`]: ['unchanged', 1, null],
      expired: ['expired', 0, 'Expired'],
      invalid: ['invalid', 0, 'InvalidTransition'],
    });
    expect(code).toBe(3); // the highest exit code of the set: rejected/expired (3) over invalid (2)
    // No retry on the refusals: one call each.
    expect(calls.get(w.ids.missing)).toBe(1);
    expect(calls.get(w.ids.done)).toBe(1);
    // The expired and invalid transitions sent nothing: 1 + 2 + 3 + 1 + 1 status calls, and a
    // describe each for the refusal and the NoSuchJob (COS answers that for a finished job: 12.11).
    expect(srv.recorded.filter((r) => w.isStatus(r.url)).length).toBe(8);
    expect(srv.recorded.length).toBe(10);

    // Byte for byte: the request line, the provider's headers, a signature that verifies.
    const first = srv.recorded[0]!;
    expect(first.method).toBe('POST');
    expect(first.url).toBe(w.statusLine(w.ids.ok, reason));
    for (const [h, v] of Object.entries(w.requiredHeaders))
      if (typeof v === 'string') expect(first.headers[h], h).toBe(v);
      else expect(first.headers[h], h).toMatch(v);
    expect(first.headers.host).toBe(srv.url.slice('http://'.length));
    expect(srv.recorded.every((r) => r.verified)).toBe(true);
  });
});

// ── secrets a provider echoes back (issue 12.2) ───────────────────────────────────────────────

const TEMP = {
  TENCENTCLOUD_SESSIONTOKEN: 'cosTempToken-9f8e7d6c5b4a39281706',
  ALIBABA_CLOUD_SECURITY_TOKEN: 'CAIS.ossTempToken+1a2b3c4d5e6f/7g8h',
  AWS_SESSION_TOKEN: 'IQoJawsSessionToken/7h6g5f4e3d2c1b+a==',
};
const xmlEscape = (v: string) => v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Everything secret that went over the wire or sits in the configuration. */
function secretsSent(env: Record<string, string>): string[] {
  const out = new Set<string>(Object.values(env).filter((v) => v.length >= 8));
  for (const r of srv.recorded) {
    const auth = String(r.headers.authorization ?? '');
    for (const m of auth.matchAll(/(?:q-signature=|Signature=)([0-9a-f]{40,64})/g)) out.add(m[1]!);
    out.add(auth);
  }
  return [...out];
}

describe.each(Object.entries(WIRES))('%s: secrets in error answers', (provider, w) => {
  it('an error echoing Authorization, the session token and the keys leaves none of them in the outcome', async () => {
    srv.recorded = [];
    srv.script = (r) => {
      const echo = xmlEscape(
        `request refused. Authorization: ${r.headers.authorization}; ` +
          `x-cos-security-token: ${r.headers['x-cos-security-token'] ?? ''}; ` +
          `x-oss-security-token: ${r.headers['x-oss-security-token'] ?? ''}; ` +
          `x-amz-security-token: ${r.headers['x-amz-security-token'] ?? ''}; ` +
          `keys seen: ${Object.values(KEYS).join(' ')} ${Object.values(TEMP).join(' ')}`,
      );
      const body =
        provider === 's3'
          ? `<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>${echo}</Message></Error><RequestId>r1</RequestId></ErrorResponse>`
          : `<Error><Code>SignatureDoesNotMatch</Code><Message>${echo}</Message><RequestId>r1</RequestId></Error>`;
      return { status: 403, body };
    };
    const { outcomes } = await apply(
      [{ ...w.target, id: 'echo', jobId: w.ids.ok, action: 'UpdateJobStatus', requestedJobStatus: 'Ready' }],
      TEMP,
    );
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      outcome: 'rejected',
      error: { code: 'SignatureDoesNotMatch', httpStatus: 403 },
    });
    // The refusal still says what happened, with the secrets cut out.
    expect(outcomes[0]!.error!.message).toMatch(/^request refused\. Authorization: .*\[redacted\]/);
    // Every request carried the token that the server then echoed.
    const tokenHeader = {
      cos: 'x-cos-security-token',
      oss: 'x-oss-security-token',
      s3: 'x-amz-security-token',
    }[provider as 'cos' | 'oss' | 's3'];
    expect(srv.recorded.every((r) => r.headers[tokenHeader] !== undefined)).toBe(true);
    const json = JSON.stringify(outcomes);
    const leaked = secretsSent({ ...KEYS, ...TEMP }).filter(
      (v) => json.includes(v) || json.includes(JSON.stringify(v).slice(1, -1)),
    );
    expect(leaked).toEqual([]);
    expect(json).not.toMatch(/q-signature=[0-9a-f]|Signature=[0-9a-f]|Credential=[A-Z]/);
  });

  it('an endpoint with userinfo never shows its user or password', async () => {
    srv.recorded = [];
    srv.script = (r) => (w.isStatus(r.url) ? w.ok(w.jobOf(r.url)) : w.describe(w.jobOf(r.url), 'Suspended'));
    const withUser = srv.url.replace('http://', 'http://jobuser:hunter2-p4ssw0rd@');
    const { outcomes } = await apply(
      [
        {
          ...w.target,
          id: 'userinfo',
          jobId: w.ids.ok,
          action: 'UpdateJobStatus',
          requestedJobStatus: 'Ready',
        },
      ],
      { COS_ENDPOINT: withUser, OSS_ENDPOINT: withUser, AWS_ENDPOINT_URL_S3_CONTROL: withUser },
    );
    expect(outcomes).toHaveLength(1);
    const json = JSON.stringify(outcomes);
    expect(json).not.toContain('hunter2-p4ssw0rd');
    expect(json).not.toContain('jobuser');
  });
});
