/**
 * The COS signer, pinned to the official one: `COS.getAuthorization` from cos-nodejs-sdk-v5 is the
 * oracle (a dev dependency, used nowhere else). The verifier must accept what either signs and
 * refuse anything changed or added after signing.
 */
import COS from 'cos-nodejs-sdk-v5';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CosSignable, cosAuthorization, rfc3986, verifyCosRequest } from './sign';

const KEY = {
  secretId: 'AKIDexampleSecretId0000000000000000',
  secretKey: 'exampleSecretKey000000000000000000',
};
const NOW = 1_790_000_000;
const HOST = '100000000001.cos-control.ap-guangzhou.myqcloud.com';

function oracle(req: CosSignable, key = KEY, now = NOW, expiresIn = 900): string {
  return COS.getAuthorization({
    SecretId: key.secretId,
    SecretKey: key.secretKey,
    Method: req.method as COS.Method,
    Pathname: req.pathname,
    Query: req.query,
    Headers: req.headers,
    KeyTime: `${now};${now + expiresIn}`,
  });
}

const base = (over: Partial<CosSignable>): CosSignable => ({
  method: 'POST',
  pathname: '/jobs/53dc6228-c50b-46f7-8ad7-65e7159f1aae/status',
  query: { requestedJobStatus: 'Ready' },
  headers: { host: HOST, 'x-cos-appid': '1250000000' },
  ...over,
});

const CASES: Array<[string, CosSignable]> = [
  ['UpdateJobStatus, no reason', base({})],
  [
    'reason with spaces',
    base({ query: { requestedJobStatus: 'Ready', statusUpdateReason: 'off peak window' } }),
  ],
  [
    'reason in CJK',
    base({ query: { requestedJobStatus: 'Cancelled', statusUpdateReason: '夜间窗口已开启' } }),
  ],
  ['reason with & and =', base({ query: { requestedJobStatus: 'Ready', statusUpdateReason: 'a&b=c&d' } })],
  [
    'reason with + and %',
    base({ query: { requestedJobStatus: 'Ready', statusUpdateReason: '1+1=2 100% %41' } }),
  ],
  ['reason with / and ?', base({ query: { requestedJobStatus: 'Ready', statusUpdateReason: 'a/b?c#d' } })],
  ['reason with emoji', base({ query: { requestedJobStatus: 'Ready', statusUpdateReason: 'go 🚀🌙 now' } })],
  [
    'reason with RFC 3986 extras',
    base({ query: { requestedJobStatus: 'Ready', statusUpdateReason: "it's (really) done!* ~_.-" } }),
  ],
  ['empty reason value', base({ query: { requestedJobStatus: 'Ready', statusUpdateReason: '' } })],
  ['UpdateJobPriority', base({ pathname: '/jobs/53dc6228/priority', query: { priority: '2147483647' } })],
  ['DescribeJob, no query', base({ method: 'GET', pathname: '/jobs/53dc6228', query: {} })],
  [
    'ListJobs with every parameter',
    base({
      method: 'GET',
      pathname: '/jobs',
      query: { jobStatuses: 'Suspended', maxResults: '1000', nextToken: 'a+b/c=d%e' },
    }),
  ],
  ['job id needing encoding in the path', base({ pathname: "/jobs/job:1 (a)+b&c=d'é/status" })],
  ['upper-case header names', base({ headers: { Host: HOST, 'X-Cos-Appid': '1250000000' } })],
  [
    'header values with spaces, CJK, & = + % / and emoji',
    base({
      headers: {
        host: HOST,
        'x-cos-appid': '1250000000',
        'x-cos-meta-note': 'a b&c=d+e%f/g 中文 🚀',
      },
    }),
  ],
  [
    'temporary keys: x-cos-security-token',
    base({
      headers: {
        host: HOST,
        'x-cos-appid': '1250000000',
        'x-cos-security-token': 'tok+en/with=chars%2F_and-more.0123456789',
      },
    }),
  ],
  [
    'content headers are signed, others are not',
    base({
      headers: {
        host: HOST,
        'x-cos-appid': '1250000000',
        'content-type': 'application/xml',
        'user-agent': 'jobctl/0.1',
        connection: 'keep-alive',
      },
    }),
  ],
  ['host with a port', base({ headers: { host: '127.0.0.1:9000', 'x-cos-appid': '1250000000' } })],
];

describe('cosAuthorization agrees byte for byte with COS.getAuthorization', () => {
  it.each(CASES)('%s', (_name, req) => {
    const ours = cosAuthorization(req, KEY, { now: NOW });
    expect(ours).toBe(oracle(req));
  });

  it('with temporary keys from STS (other SecretId/SecretKey, token signed)', () => {
    const tmp = { secretId: 'AKIDtmpTemporary', secretKey: 'tmpKey+/=' };
    const req = base({
      headers: { host: HOST, 'x-cos-appid': '1250000000', 'x-cos-security-token': 'session-token-value' },
    });
    const ours = cosAuthorization(req, tmp, { now: NOW });
    expect(ours).toBe(oracle(req, tmp));
    expect(ours).toContain('q-header-list=host;x-cos-appid;x-cos-security-token&');
  });

  it('honours expiresIn in the key time', () => {
    const req = base({});
    expect(cosAuthorization(req, KEY, { now: NOW, expiresIn: 60 })).toBe(oracle(req, KEY, NOW, 60));
    expect(cosAuthorization(req, KEY, { now: NOW })).toContain(`q-key-time=${NOW};${NOW + 900}&`);
  });

  it('lists host, every x-cos-* header and every query key, lower-cased and sorted', () => {
    const a = cosAuthorization(
      base({
        query: { requestedJobStatus: 'Ready', statusUpdateReason: 'x' },
        headers: { 'X-Cos-Appid': '1', Host: HOST, 'x-cos-security-token': 't', 'user-agent': 'u' },
      }),
      KEY,
      { now: NOW },
    );
    expect(a).toContain('&q-header-list=host;x-cos-appid;x-cos-security-token&');
    expect(a).toContain('&q-url-param-list=requestedjobstatus;statusupdatereason&');
    expect(a).toMatch(/^q-sign-algorithm=sha1&q-ak=AKIDexample\w+&q-sign-time=\d+;\d+&q-key-time=/);
    expect(a).toMatch(/&q-signature=[0-9a-f]{40}$/);
  });

  it('agrees on arbitrary Unicode query and header values (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
        fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }),
        (reason, token, meta, secretKey) => {
          const req = base({
            query: { requestedJobStatus: 'Ready', statusUpdateReason: reason, nextToken: token },
            headers: { host: HOST, 'x-cos-appid': '1250000000', 'x-cos-meta-m': meta },
          });
          const key = { secretId: 'AKIDprop', secretKey };
          expect(cosAuthorization(req, key, { now: NOW })).toBe(oracle(req, key));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('rfc3986', () => {
  it.each([
    ['a b', 'a%20b'],
    ["!'()*", '%21%27%28%29%2A'],
    ['-_.~', '-_.~'],
    ['a+b=c&d/e%f', 'a%2Bb%3Dc%26d%2Fe%25f'],
    ['中', '%E4%B8%AD'],
    ['🚀', '%F0%9F%9A%80'],
  ])('%j → %j', (input, encoded) => {
    expect(rfc3986(input)).toBe(encoded);
  });
});

/** A request as the sandbox would receive it, signed by `sign` over its decoded form. */
interface Wire {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
}

function signedWire(
  sign: (req: CosSignable) => string = (req) => cosAuthorization(req, KEY, { now: NOW }),
): Wire {
  const jobId = "job:1 (a)+b&c=d'é";
  const query = { requestedJobStatus: 'Ready', statusUpdateReason: 'off peak & 夜间 + 🚀 = 100%/2' };
  const headers = { host: HOST, 'x-cos-appid': '1250000000', 'x-cos-security-token': 'SESSION-TOKEN-VALUE' };
  const authorization = sign({ method: 'POST', pathname: `/jobs/${jobId}/status`, query, headers });
  return {
    method: 'POST',
    rawPath: `/jobs/${rfc3986(jobId)}/status`,
    rawQuery: Object.entries(query)
      .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
      .join('&'),
    headers: { ...headers, authorization, 'user-agent': 'node', 'content-length': '0' },
  };
}

const secrets: Record<string, string> = { [KEY.secretId]: KEY.secretKey };
const secretFor = (id: string) => secrets[id];

describe('verifyCosRequest', () => {
  it('accepts what cosAuthorization signed, within the key time', () => {
    expect(verifyCosRequest(signedWire(), secretFor, NOW)).toEqual({ ok: true, secretId: KEY.secretId });
    expect(verifyCosRequest(signedWire(), secretFor, NOW + 900)).toEqual({
      ok: true,
      secretId: KEY.secretId,
    });
  });

  it('accepts what the official SDK signed', () => {
    const wire = signedWire((req) => oracle(req));
    expect(verifyCosRequest(wire, secretFor, NOW + 10)).toEqual({ ok: true, secretId: KEY.secretId });
  });

  it('accepts query parameters in any order on the wire', () => {
    const wire = signedWire();
    wire.rawQuery = wire.rawQuery.split('&').reverse().join('&');
    expect(verifyCosRequest(wire, secretFor, NOW).ok).toBe(true);
  });

  const tampered: Array<[string, (w: Wire) => void, string]> = [
    [
      'a changed query value',
      (w) => {
        w.rawQuery = w.rawQuery.replace('requestedJobStatus=Ready', 'requestedJobStatus=Cancelled');
      },
      'SignatureDoesNotMatch',
    ],
    [
      'a changed path',
      (w) => {
        w.rawPath = w.rawPath.replace('/status', '/priority');
      },
      'SignatureDoesNotMatch',
    ],
    [
      'a changed method',
      (w) => {
        w.method = 'GET';
      },
      'SignatureDoesNotMatch',
    ],
    [
      'a changed host',
      (w) => {
        w.headers.host = '100000000002.cos-control.ap-guangzhou.myqcloud.com';
      },
      'SignatureDoesNotMatch',
    ],
    [
      'a changed signed header',
      (w) => {
        w.headers['x-cos-appid'] = '1250000001';
      },
      'SignatureDoesNotMatch',
    ],
    [
      'an added unsigned x-cos header',
      (w) => {
        w.headers['x-cos-acl'] = 'public-read';
      },
      'AccessDenied',
    ],
    [
      'an added unsigned query parameter',
      (w) => {
        w.rawQuery += '&priority=1';
      },
      'AccessDenied',
    ],
    [
      'a duplicated query parameter',
      (w) => {
        w.rawQuery += '&requestedJobStatus=Cancelled';
      },
      'AccessDenied',
    ],
    [
      'a signed query parameter removed',
      (w) => {
        w.rawQuery = 'requestedJobStatus=Ready';
      },
      'AccessDenied',
    ],
    [
      'a signed header removed',
      (w) => {
        delete w.headers['x-cos-security-token'];
      },
      'AccessDenied',
    ],
    [
      'no Authorization',
      (w) => {
        delete w.headers.authorization;
      },
      'AccessDenied',
    ],
    [
      'an Authorization without q-signature',
      (w) => {
        w.headers.authorization = String(w.headers.authorization).replace(/&q-signature=.*$/, '');
      },
      'AccessDenied',
    ],
    [
      'another algorithm',
      (w) => {
        w.headers.authorization = String(w.headers.authorization).replace('sha1', 'sha256');
      },
      'AccessDenied',
    ],
    [
      'a forged signature',
      (w) => {
        w.headers.authorization = String(w.headers.authorization).replace(
          /q-signature=.*$/,
          `q-signature=${'0'.repeat(40)}`,
        );
      },
      'SignatureDoesNotMatch',
    ],
    [
      'a signature of the wrong length',
      (w) => {
        w.headers.authorization = String(w.headers.authorization).replace(
          /q-signature=.*$/,
          'q-signature=abc',
        );
      },
      'SignatureDoesNotMatch',
    ],
    [
      'a widened key time',
      (w) => {
        w.headers.authorization = String(w.headers.authorization).replaceAll(`${NOW + 900}`, `${NOW + 9000}`);
      },
      'SignatureDoesNotMatch',
    ],
  ];

  it.each(tampered)('rejects %s', (_name, change, code) => {
    const wire = signedWire();
    change(wire);
    const r = verifyCosRequest(wire, secretFor, NOW + 1);
    expect(r.ok).toBe(false);
    expect(r).toMatchObject({ code });
  });

  it('rejects a wrong secret key', () => {
    const r = verifyCosRequest(signedWire(), () => 'another-secret-key', NOW);
    expect(r).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
  });

  it('rejects an unknown SecretId', () => {
    expect(verifyCosRequest(signedWire(), () => undefined, NOW)).toMatchObject({
      ok: false,
      code: 'InvalidAccessKeyId',
    });
  });

  it('rejects an expired key time and one that starts in the future', () => {
    expect(verifyCosRequest(signedWire(), secretFor, NOW + 901)).toMatchObject({
      ok: false,
      code: 'AccessDenied',
      message: 'Request has expired',
    });
    expect(verifyCosRequest(signedWire(), secretFor, NOW - 1)).toMatchObject({
      ok: false,
      code: 'RequestTimeTooSkewed',
    });
  });

  it('never puts the secret, token or signature in its messages', () => {
    const wire = signedWire();
    const sig = /q-signature=([0-9a-f]+)/.exec(String(wire.headers.authorization))![1]!;
    for (const [, change] of tampered) {
      const w = signedWire();
      change(w);
      const r = verifyCosRequest(w, secretFor, NOW + 1);
      if (!r.ok) {
        expect(r.message).not.toContain(KEY.secretKey);
        expect(r.message).not.toContain(sig);
        expect(r.message).not.toContain('SESSION-TOKEN-VALUE');
      }
    }
  });
});
