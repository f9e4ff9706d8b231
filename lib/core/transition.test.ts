import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { fillEndpoint, RULES } from '../providers/rules';
import { PROVIDERS } from '../providers/types';
import { parseTransition, parseTransitionBody } from './transition';

const cos = {
  provider: 'cos',
  region: EXAMPLE_TARGETS.cos.region,
  account: EXAMPLE_TARGETS.cos.account,
  appId: EXAMPLE_TARGETS.cos.appId,
  jobId: '53dc6228-c50b-46f7-8ad7-65e7159f1aae',
  action: 'UpdateJobStatus',
  requestedJobStatus: 'Ready',
};
const oss = {
  provider: 'oss',
  region: EXAMPLE_TARGETS.oss.region,
  jobId: 'MzRjZGU2NGQ3YTY5NGRhMTkxZmZhYzY5OTM5YTcxYWU=',
  action: 'UpdateJobStatus',
  requestedJobStatus: 'Cancelled',
};
const s3 = {
  provider: 's3',
  region: 'us-east-1',
  account: EXAMPLE_TARGETS.s3.account,
  jobId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
  action: 'UpdateJobPriority',
  priority: 10,
};

describe('parseTransition accepts the contract examples', () => {
  it.each([
    ['cos', cos],
    ['oss', oss],
    ['s3', s3],
  ])('%s', (_, msg) => {
    const r = parseTransition(msg);
    expect(r).toEqual({ ok: true, value: msg });
  });

  it('the full contract example, with id, reason and notAfter', () => {
    const msg = {
      id: 'nightly-2026-11-24/53dc6228',
      ...cos,
      statusUpdateReason: 'off-peak window opened',
      notAfter: '2026-11-24T06:00:00+08:00',
      requestedAt: '2026-11-24T05:00:00.123+08:00',
    };
    expect(parseTransition(msg)).toEqual({ ok: true, value: msg });
  });

  it('drops an empty statusUpdateReason (never sent)', () => {
    const r = parseTransition({ ...cos, statusUpdateReason: '' });
    expect(r.ok && 'statusUpdateReason' in r.value).toBe(false);
  });

  it('a select instead of a jobId', () => {
    const { jobId: _, ...rest } = cos;
    const select = {
      statuses: ['Suspended'],
      descriptionPrefix: 'nightly-',
      olderThanMinutes: 30,
      max: 1000,
    };
    expect(parseTransition({ ...rest, select })).toEqual({ ok: true, value: { ...rest, select } });
  });

  it('a reason of exactly 256 bytes of UTF-8 (85 CJK characters + 1 byte)', () => {
    const reason = '批'.repeat(85) + 'x';
    expect(Buffer.byteLength(reason)).toBe(256);
    expect(parseTransition({ ...cos, statusUpdateReason: reason }).ok).toBe(true);
  });

  it.each([
    '2028-02-29T00:00:00Z',
    '2000-02-29T23:59:59.999+14:00',
    '2026-12-31T23:59-12:00',
    '2026-04-30T00:00:00+05:45',
  ])('notAfter %s: a real instant (leap years included)', (notAfter) => {
    const r = parseTransition({ ...cos, notAfter });
    expect(r.ok && r.value.notAfter).toBe(notAfter);
  });

  it('priority bounds 0 and 2147483647', () => {
    expect(parseTransition({ ...s3, priority: 0 }).ok).toBe(true);
    expect(parseTransition({ ...s3, priority: 2147483647 }).ok).toBe(true);
  });
});

const { jobId: _cosJob, ...cosNoJob } = cos;

// [why, message, field that must be named, words the rule must contain]
const INVALID: [string, unknown, string, string][] = [
  ['not an object', [cos], '(message)', 'JSON object'],
  ['null', null, '(message)', 'JSON object'],
  ['unknown field (typo)', { ...cos, requestedStatus: 'Ready' }, 'requestedStatus', 'unknown field'],
  ['provider missing', { ...cos, provider: undefined }, 'provider', 'is required'],
  ['region missing', { ...cos, region: undefined }, 'region', 'is required'],
  ['action missing', { ...cos, action: undefined }, 'action', 'is required'],
  ['bad provider', { ...cos, provider: 'gcs' }, 'provider', 'one of cos, oss, s3'],
  ['bad action', { ...cos, action: 'DeleteJob' }, 'action', 'UpdateJobStatus'],
  [
    'status not allowed',
    { ...cos, requestedJobStatus: 'Active' },
    'requestedJobStatus',
    'Ready or Cancelled',
  ],
  ['status missing', { ...cos, requestedJobStatus: undefined }, 'requestedJobStatus', 'required'],
  ['priority as string', { ...s3, priority: '10' }, 'priority', 'not a string'],
  ['priority float', { ...s3, priority: 1.5 }, 'priority', 'integer'],
  ['priority negative', { ...s3, priority: -1 }, 'priority', '0 to 2147483647'],
  ['priority too big', { ...s3, priority: 2147483648 }, 'priority', '0 to 2147483647'],
  ['priority missing', { ...s3, priority: undefined }, 'priority', 'required'],
  ['priority on a status change', { ...cos, priority: 3 }, 'priority', 'only used by UpdateJobPriority'],
  [
    'reason 257 bytes',
    { ...cos, statusUpdateReason: `${'批'.repeat(85)}xy` },
    'statusUpdateReason',
    '256 bytes',
  ],
  [
    'reason with a lone surrogate',
    { ...cos, statusUpdateReason: 'ok \ud800' },
    'statusUpdateReason',
    '256 bytes',
  ],
  ['reason on a priority change', { ...s3, statusUpdateReason: 'x' }, 'statusUpdateReason', 'only used'],
  [
    'region with a dot (host injection)',
    { ...cos, region: 'evil.com#' },
    'region',
    '^[a-z0-9-]{1,63}$, not starting or ending with -',
  ],
  [
    'region uppercase',
    { ...cos, region: 'AP-GUANGZHOU' },
    'region',
    '^[a-z0-9-]{1,63}$, not starting or ending with -',
  ],
  [
    'region CRLF',
    { ...cos, region: 'ap\r\nx' },
    'region',
    '^[a-z0-9-]{1,63}$, not starting or ending with -',
  ],
  ['region 64 chars', { ...cos, region: 'a'.repeat(64) }, 'region', '^[a-z0-9-]{1,63}$'],
  ['region starting with -', { ...cos, region: '-ap' }, 'region', 'not starting or ending with -'],
  ['region ending with -', { ...s3, region: 'us-east-' }, 'region', 'not starting or ending with -'],
  ['region that is only -', { ...s3, region: '-' }, 'region', 'not starting or ending with -'],
  ['account with letters', { ...cos, account: '1000x' }, 'account', 'digits'],
  ['account injection', { ...cos, account: '1@evil.com/' }, 'account', 'digits'],
  ['account missing for cos', { ...cos, account: undefined }, 'account', 'required for cos'],
  ['s3 account of 11 digits', { ...s3, account: '12345678901' }, 'account', '12-digit'],
  ['appId missing for cos', { ...cos, appId: undefined }, 'appId', 'required for cos'],
  ['appId CRLF header injection', { ...cos, appId: '125\r\nx-cos-acl: public' }, 'appId', '1–64 digits'],
  ['appId 65 digits', { ...cos, appId: '1'.repeat(65) }, 'appId', '1–64 digits'],
  ['appId for oss', { ...oss, appId: EXAMPLE_TARGETS.cos.appId }, 'appId', 'only used by cos'],
  [
    'jobId and select',
    { ...cos, select: { statuses: ['Suspended'] } },
    'select',
    'exactly one of jobId or select',
  ],
  ['neither jobId nor select', cosNoJob, 'jobId', 'exactly one of jobId or select'],
  ['jobId empty', { ...cos, jobId: '' }, 'jobId', '1–64 bytes'],
  ['jobId 65 bytes', { ...cos, jobId: 'a'.repeat(65) }, 'jobId', '1–64 bytes'],
  ['jobId ..', { ...cos, jobId: '..' }, 'jobId', 'not . or ..'],
  ['jobId .', { ...oss, jobId: '.' }, 'jobId', 'not . or ..'],
  ['jobId with CRLF', { ...cos, jobId: 'abc\r\nHost: evil' }, 'jobId', 'visible ASCII'],
  ['jobId with a space', { ...oss, jobId: 'a b' }, 'jobId', 'visible ASCII'],
  ['jobId CJK', { ...cos, jobId: '任务' }, 'jobId', 'visible ASCII'],
  ['s3 jobId too short', { ...s3, jobId: 'abcd' }, 'jobId', '5–36'],
  ['s3 jobId with =', { ...s3, jobId: 'abcde=' }, 'jobId', '[A-Za-z0-9_-]'],
  ['s3 jobId with a slash', { ...s3, jobId: '../../x' }, 'jobId', '[A-Za-z0-9_-]'],
  ['select not an object', { ...cosNoJob, select: 'Suspended' }, 'select', 'must be an object'],
  [
    'select unknown field',
    { ...cosNoJob, select: { status: ['Suspended'] } },
    'select.status',
    'unknown field',
  ],
  [
    'select bad status',
    { ...cosNoJob, select: { statuses: ['Sleeping'] } },
    'select.statuses.0',
    'one of New',
  ],
  ['select empty statuses', { ...cosNoJob, select: { statuses: [] } }, 'select.statuses', '1–13'],
  ['select max 0', { ...cosNoJob, select: { max: 0 } }, 'select.max', '1 to 100000'],
  [
    'select negative age',
    { ...cosNoJob, select: { olderThanMinutes: -5 } },
    'select.olderThanMinutes',
    '0 to',
  ],
  ['notAfter without offset', { ...cos, notAfter: '2026-11-24T06:00:00' }, 'notAfter', 'UTC offset'],
  ['notAfter not a date', { ...cos, notAfter: '2026-13-45T99:00:00Z' }, 'notAfter', 'ISO 8601'],
  ['notAfter on February 30', { ...cos, notAfter: '2026-02-30T06:00:00Z' }, 'notAfter', 'ISO 8601'],
  ['notAfter on April 31', { ...cos, notAfter: '2026-04-31T06:00:00+08:00' }, 'notAfter', 'ISO 8601'],
  ['notAfter at 24:00', { ...cos, notAfter: '2026-11-24T24:00Z' }, 'notAfter', 'ISO 8601'],
  [
    'notAfter on February 29 of a common year',
    { ...cos, notAfter: '2026-02-29T00:00:00Z' },
    'notAfter',
    'ISO 8601',
  ],
  [
    'notAfter on February 29, 1900 (not a leap year)',
    { ...cos, notAfter: '1900-02-29T00:00:00Z' },
    'notAfter',
    'ISO 8601',
  ],
  ['notAfter at second 60', { ...cos, notAfter: '2026-11-24T06:00:60Z' }, 'notAfter', 'ISO 8601'],
  [
    'notAfter with offset minutes 60',
    { ...cos, notAfter: '2026-11-24T06:00:00+08:60' },
    'notAfter',
    'ISO 8601',
  ],
  ['requestedAt without offset', { ...cos, requestedAt: '2026-11-24T06:00:00' }, 'requestedAt', 'UTC offset'],
  ['id too long', { ...cos, id: 'x'.repeat(129) }, 'id', '1–128'],
  ['id with a newline (log injection)', { ...cos, id: 'a\nb' }, 'id', 'control'],
];

describe('parseTransition refuses, naming the field and the rule', () => {
  it.each(INVALID)('%s', (_, msg, field, rule) => {
    const r = parseTransition(JSON.parse(JSON.stringify(msg ?? null)) ?? msg);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.field).toBe(field);
    expect(r.error.message.startsWith(`${field}: `)).toBe(true);
    expect(r.error.message).toContain(rule);
  });

  it.each([
    ['__proto__', '{"__proto__": {"polluted": true}, "provider": "cos"}'],
    ['constructor', '{"constructor": {"prototype": {"polluted": true}}}'],
  ])('prototype-pollution key %s is an unknown field and pollutes nothing', (key, body) => {
    const r = parseTransitionBody(body.replace('{', `{${JSON.stringify(cos).slice(1, -1)},`));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain(`unknown field "${key}"`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a huge or control-laden unknown key is named cut and escaped, never echoed whole', () => {
    const key = `x\r\n${'k'.repeat(200_000)}`;
    const r = parseTransition({ ...cos, [key]: 1 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.field.length).toBeLessThanOrEqual(80);
    expect(r.error.field).not.toMatch(/[\r\n]/);
    expect(r.error.message.length).toBeLessThan(200);
    expect(r.error.message).not.toMatch(/[\r\n]/);
  });

  it('not JSON', () => {
    const r = parseTransitionBody('{"provider": cos}');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/^\(message\): is not valid JSON/);
  });
});

describe('properties', () => {
  const anyJson = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(
      fc.constantFrom(...Object.keys(cos), 'select', 'priority', '__proto__', 'x'),
      fc.jsonValue(),
    ),
    fc.record({
      provider: fc.constantFrom(...PROVIDERS, 'x'),
      region: fc.string(),
      account: fc.string(),
      appId: fc.string(),
      jobId: fc.string(),
      action: fc.constantFrom('UpdateJobStatus', 'UpdateJobPriority'),
      requestedJobStatus: fc.constantFrom('Ready', 'Cancelled'),
    }),
  );

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(anyJson, (v) => {
        parseTransition(v);
        parseTransitionBody(JSON.stringify(v) ?? 'null');
      }),
      { numRuns: 2000 },
    );
  });

  // Candidate values close to valid ones, with hostile characters mixed in.
  const hostile = fc.constantFrom(
    '',
    '.',
    '/',
    '@',
    ':',
    '#',
    '?',
    '\r\n',
    ' ',
    '%2F',
    '..',
    'é',
    '\u202e',
    '\ud800',
  );
  const near = (base: string) =>
    fc
      .tuple(fc.string({ maxLength: 3 }), hostile, fc.boolean())
      .map(([a, h, keep]) => (keep ? base : `${base}${a}${h}`));

  it('any message that validates yields a safe hostname and an encodable path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(cos, s3, oss),
        near(EXAMPLE_TARGETS.cos.region),
        near(EXAMPLE_TARGETS.cos.account),
        fc.oneof(near('53dc6228-c50b'), fc.string({ minLength: 1, maxLength: 70 })),
        (msg, region, account, jobId) => {
          const r = parseTransition({
            ...msg,
            region,
            account: msg.provider === 'oss' ? undefined : account,
            jobId,
          });
          if (!r.ok || !('jobId' in r.value)) return;
          const url = new URL(
            fillEndpoint(RULES[r.value.provider].defaultEndpoint, r.value.region, r.value.account),
          );
          expect(url.hostname).toMatch(/^[a-z0-9.-]+$/);
          expect(
            url.hostname.endsWith('.myqcloud.com') ||
              url.hostname.endsWith('.aliyuncs.com') ||
              url.hostname.endsWith('.amazonaws.com'),
          ).toBe(true);
          expect(url.pathname).toBe('/');
          const segment = encodeURIComponent(r.value.jobId);
          expect(segment).toMatch(/^[A-Za-z0-9%._~!*'()-]+$/);
          expect(decodeURIComponent(segment)).toBe(r.value.jobId);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
