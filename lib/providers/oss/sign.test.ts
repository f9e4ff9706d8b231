/**
 * The OSS V4 signer, pinned to the ali-oss SDK's `authorizationV4` (a dev dependency used only as
 * an oracle here) on real batch-job requests, and the server-side verifier that the sandbox uses.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aliSign } from '../../../test/support/sandbox';
import {
  canonicalRequest,
  MAX_SKEW_MS,
  type OssSignable,
  ossAuthorization,
  ossDate,
  ossEncode,
  verifyOssRequest,
} from './sign';
import { encodeQuery } from './wire';

const JOB_ID = 'MzRjZGU2NGQ3YTY5NGRhMTkxZmZhYzY5OTM5YTcxYWU=';
const KEY = { accessKeyId: 'LTAI5tExampleKeyId', accessKeySecret: 'exampleSecretKey0123456789abcdef' };
const STS_TOKEN = 'CAIS+gF1q6Ft5B2yfSjIr5bS/token==';
const DATE = new Date('2026-11-24T06:00:00.000Z');

function headersFor(date: Date, host: string, token?: string): Record<string, string> {
  const h: Record<string, string> = {
    host,
    'x-oss-date': ossDate(date),
    'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
  };
  if (token !== undefined) h['x-oss-security-token'] = token;
  return h;
}

interface OracleCase {
  name: string;
  method: 'GET' | 'POST';
  query: Record<string, string | null>;
  token?: string;
  region?: string;
  date?: Date;
  additional?: string[];
}

const CASES: OracleCase[] = [
  {
    name: 'UpdateJobStatus, id ending in "=", reason with spaces',
    method: 'POST',
    query: {
      batchJobStatus: null,
      batchJobId: JOB_ID,
      requestedJobStatus: 'Ready',
      statusUpdateReason: 'off-peak window opened',
    },
  },
  {
    name: 'UpdateJobStatus, CJK reason',
    method: 'POST',
    query: {
      batchJobStatus: null,
      batchJobId: JOB_ID,
      requestedJobStatus: 'Cancelled',
      statusUpdateReason: '夜间窗口已关闭，取消任务',
    },
  },
  {
    name: 'UpdateJobStatus, emoji reason',
    method: 'POST',
    query: {
      batchJobStatus: null,
      batchJobId: JOB_ID,
      requestedJobStatus: 'Ready',
      statusUpdateReason: '🌙 off-peak 🚀 go',
    },
  },
  {
    name: 'UpdateJobStatus, reason with reserved characters',
    method: 'POST',
    query: {
      batchJobStatus: null,
      batchJobId: JOB_ID,
      requestedJobStatus: 'Ready',
      statusUpdateReason: "50% done; a+b=c & d/e ?#[]!'()*~",
    },
  },
  {
    name: 'UpdateJobStatus with temporary keys (security token)',
    method: 'POST',
    token: STS_TOKEN,
    query: {
      batchJobStatus: null,
      batchJobId: JOB_ID,
      requestedJobStatus: 'Cancelled',
      statusUpdateReason: 'STS 临时凭证 🔑',
    },
  },
  {
    name: 'UpdateJobPriority (targetPriority)',
    method: 'POST',
    query: { batchJobPriority: null, batchJobId: JOB_ID, targetPriority: '2147483647' },
  },
  {
    name: 'DescribeJob, id with "+" and "/"',
    method: 'GET',
    query: { batchJob: null, batchJobId: 'ab+cd/ef==' },
  },
  {
    name: 'ListJobs with statuses, max-keys and a continuation token',
    method: 'GET',
    token: STS_TOKEN,
    query: {
      batchJob: null,
      batchJobStatuses: 'Suspended|Active',
      'max-keys': '1000',
      'continuation-token': 'a+b/c:d?e#f=',
    },
  },
  {
    name: 'ListJobs, bare',
    method: 'GET',
    query: { batchJob: null },
  },
  {
    name: 'another region and day, host not signed',
    method: 'POST',
    region: 'ap-southeast-1',
    date: new Date('2027-01-01T00:00:59.000Z'),
    additional: [],
    query: { batchJobStatus: null, batchJobId: JOB_ID, requestedJobStatus: 'Ready' },
  },
];

describe('ossAuthorization agrees byte for byte with ali-oss authorizationV4', () => {
  it.each(CASES)('$name', (c) => {
    const region = c.region ?? 'cn-hangzhou';
    const date = c.date ?? DATE;
    const additional = c.additional ?? ['host'];
    const headers = headersFor(date, `oss-${region}.aliyuncs.com`, c.token);
    const ours = ossAuthorization({ method: c.method, pathname: '/', query: c.query, headers }, KEY, {
      region,
      date,
      additionalHeaders: additional,
    });
    const theirs = aliSign.authorizationV4(
      KEY.accessKeyId,
      KEY.accessKeySecret,
      region,
      c.method,
      { headers, queries: c.query },
      undefined,
      undefined,
      additional,
    );
    expect(ours).toBe(theirs);
    expect(ours).toMatch(
      new RegExp(
        `^OSS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${ossDate(date).slice(0, 8)}/${region}/oss/aliyun_v4_request,${additional.length > 0 ? 'AdditionalHeaders=host,' : ''}Signature=[0-9a-f]{64}$`,
      ),
    );
  });

  it('on any reason and any id (property)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 80 });
    fc.assert(
      fc.property(text, text, fc.option(text, { nil: undefined }), (reason, id, token) => {
        const query = {
          batchJobStatus: null,
          batchJobId: id,
          requestedJobStatus: 'Ready',
          statusUpdateReason: reason,
        };
        const headers = headersFor(DATE, 'oss-cn-hangzhou.aliyuncs.com', token === '' ? undefined : token);
        const ours = ossAuthorization({ method: 'POST', pathname: '/', query, headers }, KEY, {
          region: 'cn-hangzhou',
          date: DATE,
          additionalHeaders: ['host'],
        });
        const theirs = aliSign.authorizationV4(
          KEY.accessKeyId,
          KEY.accessKeySecret,
          'cn-hangzhou',
          'POST',
          { headers, queries: query },
          undefined,
          undefined,
          ['host'],
        );
        expect(ours).toBe(theirs);
      }),
      { numRuns: 150 },
    );
  });
});

describe('the canonical request', () => {
  it('signs a valueless sub-resource as a bare key, sorted among the others', () => {
    const canonical = canonicalRequest(
      'POST',
      '/',
      { batchJobStatus: null, batchJobId: JOB_ID, requestedJobStatus: 'Ready', statusUpdateReason: 'a b' },
      { 'x-oss-date': '20261124T060000Z', 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD', host: 'h' },
      ['host'],
    );
    expect(canonical).toBe(
      [
        'POST',
        '/',
        `batchJobId=${JOB_ID.replace('=', '%3D')}&batchJobStatus&requestedJobStatus=Ready&statusUpdateReason=a%20b`,
        'host:h\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20261124T060000Z\n',
        'host',
        'UNSIGNED-PAYLOAD',
      ].join('\n'),
    );
  });

  it.each([
    ['MzRj=', 'MzRj%3D'],
    ['a+b/c', 'a%2Bb%2Fc'],
    ['a b', 'a%20b'],
    ["!'()*", '%21%27%28%29%2A'],
    ['-_.~', '-_.~'],
    ['中', '%E4%B8%AD'],
    ['🚀', '%F0%9F%9A%80'],
  ])('percent-encodes %j as %j (RFC 3986)', (raw, encoded) => {
    expect(ossEncode(raw)).toBe(encoded);
  });

  it('formats x-oss-date as ISO 8601 basic', () => {
    expect(ossDate(new Date('2026-03-04T05:06:07.890Z'))).toBe('20260304T050607Z');
  });
});

describe('ossAuthorization refuses inconsistent input', () => {
  const query = { batchJob: null };
  it('an x-oss-date header that is not opts.date', () => {
    const headers = headersFor(new Date(DATE.getTime() + 1000), 'h');
    expect(() =>
      ossAuthorization({ method: 'GET', pathname: '/', query, headers }, KEY, {
        region: 'cn-hangzhou',
        date: DATE,
      }),
    ).toThrow(/x-oss-date/);
  });
  it('an additional header the request does not carry', () => {
    const headers = headersFor(DATE, 'h');
    expect(() =>
      ossAuthorization({ method: 'GET', pathname: '/', query, headers }, KEY, {
        region: 'cn-hangzhou',
        date: DATE,
        additionalHeaders: ['range'],
      }),
    ).toThrow(/range/);
  });
});

// ── verifyOssRequest ────────────────────────────────────────────────────────────────────────

interface Received {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
}

function signed(opts: { token?: string; date?: Date; secret?: string } = {}): Received {
  const date = opts.date ?? DATE;
  const query = {
    batchJobStatus: null,
    batchJobId: JOB_ID,
    requestedJobStatus: 'Ready',
    statusUpdateReason: '夜间 window 🌙',
  };
  const req: OssSignable = {
    method: 'POST',
    pathname: '/',
    query,
    headers: headersFor(date, '127.0.0.1:9000', opts.token),
  };
  const authorization = ossAuthorization(
    req,
    { accessKeyId: KEY.accessKeyId, accessKeySecret: opts.secret ?? KEY.accessKeySecret },
    { region: 'cn-hangzhou', date, additionalHeaders: ['host'] },
  );
  return {
    method: 'POST',
    rawPath: '/',
    rawQuery: encodeQuery(query),
    headers: { ...req.headers, authorization },
  };
}

const secretFor = (id: string) => (id === KEY.accessKeyId ? KEY.accessKeySecret : undefined);

describe('verifyOssRequest', () => {
  it('accepts what ossAuthorization signed and returns the key and region it was signed for', () => {
    expect(verifyOssRequest(signed(), secretFor, DATE)).toEqual({
      ok: true,
      accessKeyId: KEY.accessKeyId,
      region: 'cn-hangzhou',
    });
  });

  it('accepts a request signed with temporary keys', () => {
    expect(verifyOssRequest(signed({ token: STS_TOKEN }), secretFor, DATE).ok).toBe(true);
  });

  it('accepts what the ali-oss SDK signed, without AdditionalHeaders, with a space after commas', () => {
    const headers = headersFor(DATE, 'oss-cn-shanghai.aliyuncs.com');
    const queries = { batchJob: null, batchJobStatuses: 'Suspended|Active', 'max-keys': '10' };
    const auth = aliSign
      .authorizationV4(KEY.accessKeyId, KEY.accessKeySecret, 'cn-shanghai', 'GET', { headers, queries })
      .replace(',Signature', ', Signature');
    const r = verifyOssRequest(
      {
        method: 'GET',
        rawPath: '/',
        rawQuery: encodeQuery(queries),
        headers: { ...headers, authorization: auth },
      },
      secretFor,
      DATE,
    );
    expect(r).toEqual({ ok: true, accessKeyId: KEY.accessKeyId, region: 'cn-shanghai' });
  });

  it('accepts a skew just inside 15 minutes either way', () => {
    expect(verifyOssRequest(signed(), secretFor, new Date(DATE.getTime() + MAX_SKEW_MS)).ok).toBe(true);
    expect(verifyOssRequest(signed(), secretFor, new Date(DATE.getTime() - MAX_SKEW_MS)).ok).toBe(true);
  });

  const tamper = (f: (r: Received) => void) => {
    const r = signed({ token: STS_TOKEN });
    f(r);
    return r;
  };
  const setHeader = (name: string, value: string | undefined) => (r: Received) => {
    r.headers = { ...r.headers, [name]: value };
  };
  const editAuth = (from: string | RegExp, to: string) => (r: Received) => {
    r.headers = { ...r.headers, authorization: String(r.headers.authorization).replace(from, to) };
  };

  it.each<[string, Received, Date, string]>([
    [
      'a changed query value',
      tamper((r) => {
        r.rawQuery = r.rawQuery.replace('requestedJobStatus=Ready', 'requestedJobStatus=Cancelled');
      }),
      DATE,
      'SignatureDoesNotMatch',
    ],
    [
      'a changed job id',
      tamper((r) => {
        r.rawQuery = r.rawQuery.replace('YWU%3D', 'YWV%3D');
      }),
      DATE,
      'SignatureDoesNotMatch',
    ],
    [
      'a sub-resource sent with "=" though signed bare',
      tamper((r) => {
        r.rawQuery = r.rawQuery.replace('batchJobStatus&', 'batchJobStatus=&');
      }),
      DATE,
      'SignatureDoesNotMatch',
    ],
    [
      'a changed security token',
      tamper(setHeader('x-oss-security-token', 'other')),
      DATE,
      'SignatureDoesNotMatch',
    ],
    ['a changed host', tamper(setHeader('host', 'evil.example:9000')), DATE, 'SignatureDoesNotMatch'],
    [
      'a changed method',
      tamper((r) => {
        r.method = 'GET';
      }),
      DATE,
      'SignatureDoesNotMatch',
    ],
    ['a wrong secret', signed({ secret: 'not-the-secret' }), DATE, 'SignatureDoesNotMatch'],
    ['an unknown AccessKeyId', tamper(editAuth(KEY.accessKeyId, 'LTAIunknown')), DATE, 'InvalidAccessKeyId'],
    ['a stale date', signed(), new Date(DATE.getTime() + MAX_SKEW_MS + 1000), 'RequestTimeTooSkewed'],
    [
      'a date from the future',
      signed(),
      new Date(DATE.getTime() - MAX_SKEW_MS - 1000),
      'RequestTimeTooSkewed',
    ],
    ['no Authorization', tamper(setHeader('authorization', undefined)), DATE, 'AccessDenied'],
    ['another algorithm', tamper(editAuth('OSS4-HMAC-SHA256', 'OSS')), DATE, 'AccessDenied'],
    ['a scope day other than x-oss-date', tamper(editAuth('/20261124/', '/20261123/')), DATE, 'AccessDenied'],
    ['a scope for another product', tamper(editAuth('/oss/', '/s3/')), DATE, 'AccessDenied'],
    ['a malformed region', tamper(editAuth('/cn-hangzhou/', '/CN_HANGZHOU/')), DATE, 'AccessDenied'],
    [
      'an empty AdditionalHeaders',
      tamper(editAuth('AdditionalHeaders=host', 'AdditionalHeaders=')),
      DATE,
      'AccessDenied',
    ],
    [
      'a signed header that is absent',
      tamper(editAuth('AdditionalHeaders=host', 'AdditionalHeaders=range')),
      DATE,
      'AccessDenied',
    ],
    ['a truncated signature', tamper(editAuth(/[0-9a-f]$/, '')), DATE, 'AccessDenied'],
    ['no x-oss-date', tamper(setHeader('x-oss-date', undefined)), DATE, 'AccessDenied'],
    ['an impossible x-oss-date', tamper(setHeader('x-oss-date', '20261324T060000Z')), DATE, 'AccessDenied'],
    ['no x-oss-content-sha256', tamper(setHeader('x-oss-content-sha256', undefined)), DATE, 'AccessDenied'],
    [
      'broken percent-encoding',
      tamper((r) => {
        r.rawQuery += '&x=%E4%B8';
      }),
      DATE,
      'AccessDenied',
    ],
    [
      'a repeated parameter',
      tamper((r) => {
        r.rawQuery += '&requestedJobStatus=Ready';
      }),
      DATE,
      'AccessDenied',
    ],
  ])('rejects %s', (_name, req, now, code) => {
    const r = verifyOssRequest(req, secretFor, now);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    // Neither the secret, the signature nor the session token is ever echoed.
    const signature = /Signature=([0-9a-f]+)/.exec(String(req.headers.authorization))?.[1];
    expect(r.message).not.toContain(KEY.accessKeySecret);
    expect(r.message).not.toContain(STS_TOKEN);
    if (signature) expect(r.message).not.toContain(signature);
  });
});
