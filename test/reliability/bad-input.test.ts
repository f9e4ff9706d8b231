/**
 * Bad input, through the real transitions handler (functions/transitions.ts) on fauxqs and the
 * sandbox: every malformed message becomes `invalid` with a message that names its field, and
 * nothing is sent for it — the sandbox counts zero requests and the process starts no provider
 * request at all. A message that validates, however odd, is sent only as one of the provider's
 * documented request shapes, to the configured host, with its values exactly where they belong.
 */

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../lib/core/outcome';
import { generateJobs } from '../../lib/local/sandbox/seed';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import { MAX_PRIORITY } from '../../lib/providers/rules';
import type { ProviderName } from '../../lib/providers/types';
import type { Stack } from '../support/harness';
import {
  hostOf,
  installRuntime,
  invoke,
  OSS,
  recordRequests,
  type SentRequest,
  size,
  startReliabilityStack,
  TARGETS,
} from '../support/reliability';
import { documentedShape } from '../support/shapes';

const PROVIDERS: ProviderName[] = ['cos', 'oss', 's3'];
const RUNS = size(200, 25);
/** Properties run hundreds of handler invocations in full mode. */
const PROPERTY_TIMEOUT_MS = 180_000;
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

// Jobs: a victim per provider that every invalid message aims at (it must stay as seeded), a pool
// of Suspended jobs for transitions that should apply, and an Active job per provider for priorities.
const pools = Object.fromEntries(
  PROVIDERS.map((p, i) => [
    p,
    generateJobs(size(700, 200), { ...TARGETS[p], seed: 900 + i, description: 'bad-input-' }),
  ]),
) as Record<ProviderName, ReturnType<typeof generateJobs>>;
const victims = Object.fromEntries(PROVIDERS.map((p) => [p, pools[p][0]!.jobId])) as Record<
  ProviderName,
  string
>;
const active = Object.fromEntries(
  PROVIDERS.map((p, i) => [
    p,
    generateJobs(1, { ...TARGETS[p], status: 'Active', seed: 950 + i, description: 'bad-input-active-' })[0]!,
  ]),
) as Record<ProviderName, ReturnType<typeof generateJobs>[number]>;
const next = Object.fromEntries(PROVIDERS.map((p) => [p, 1])) as Record<ProviderName, number>;
/** A Suspended job no test has used yet. */
const freshJob = (p: ProviderName): string => {
  const job = pools[p][next[p]++];
  if (!job) throw new Error(`the ${p} pool of fresh jobs is used up`);
  return job.jobId!;
};
/** Valid job ids that name no job. */
const MISSING: Record<ProviderName, string> = {
  cos: 'bbbbbbbb-0000-4000-8000-00000000beef',
  oss: 'YmFkLWlucHV0LW1pc3Npbmctam9iLTAwMDAwMDAw=',
  s3: 'bad-input-missing-job',
};

const status = (p: ProviderName, extra: Record<string, unknown> = {}) => ({
  id: `bad-${p}`,
  ...TARGETS[p],
  jobId: victims[p],
  action: 'UpdateJobStatus',
  requestedJobStatus: 'Ready',
  statusUpdateReason: 'bad input',
  ...extra,
});
const priority = (p: ProviderName, extra: Record<string, unknown> = {}) => {
  const { requestedJobStatus: _r, statusUpdateReason: _s, ...rest } = status(p);
  return { ...rest, action: 'UpdateJobPriority', priority: 5, ...extra };
};
const without = (o: Record<string, unknown>, key: string) => {
  const { [key]: _, ...rest } = o;
  return rest;
};
/** A body with `key` spliced in first, exactly as written (for keys JSON.stringify cannot make). */
const withRawKey = (o: object, key: string, value: string) =>
  `{"${key}":${value},${JSON.stringify(o).slice(1)}`;
const nested = (depth: number, leaf = '1') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);

let stack: Stack;
let recorder: ReturnType<typeof recordRequests>;
let queueHost: string;

beforeAll(async () => {
  // Shapes on the wire, not the state: many cases reuse one transition id on purpose, which the
  // state table would (rightly) answer with the first outcome.
  stack = await startReliabilityStack({
    sandbox: { seed: [...PROVIDERS.flatMap((p) => pools[p]), ...Object.values(active)] },
    state: false,
  });
  installRuntime(stack);
  queueHost = hostOf(stack.env.AWS_ENDPOINT_URL_SQS!);
  recorder = recordRequests();
});
afterAll(async () => {
  recorder?.stop();
  await stack?.close();
});

/** One message through the handler: its outcomes and the provider requests the process started meanwhile. */
async function handle(
  body: string | object,
): Promise<{ outcome: Outcome; failures: number; requests: SentRequest[]; sandboxRequests: number }> {
  const from = recorder.sent.length;
  const r = await invoke(stack, [body]);
  const outcomes = r.byMessage.get(r.messageIds[0]!) ?? [];
  expect(outcomes, 'exactly one outcome per message').toHaveLength(1);
  return {
    outcome: outcomes[0]!,
    failures: r.response.batchItemFailures.length,
    requests: recorder.sent.slice(from).filter((s) => s.host !== queueHost),
    sandboxRequests: r.requests,
  };
}

async function expectInvalid(body: string | object, field: string): Promise<Outcome> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const { outcome, failures, requests, sandboxRequests } = await handle(body);
  expect(failures, 'an invalid message is deleted, not retried').toBe(0);
  expect(outcome).toMatchObject({ outcome: 'invalid', error: { code: 'InvalidTransition', field } });
  expect(outcome.error!.message.startsWith(`${field}: `), outcome.error!.message).toBe(true);
  expect(sandboxRequests, 'the sandbox saw no request').toBe(0);
  expect(requests, 'no provider request was started').toEqual([]);
  // `raw` echoes the body, at most its first 8 KiB.
  expect(utf8(outcome.raw ?? '')).toBeLessThanOrEqual(8 * 1024);
  expect(text.startsWith(outcome.raw ?? '\u0000')).toBe(true);
  return outcome;
}

/** A message that validates: a normal outcome, and only documented requests to the configured host. */
async function expectSent(
  provider: ProviderName,
  body: object,
  kinds: Outcome['outcome'][] = ['applied', 'unchanged', 'rejected'],
): Promise<{ outcome: Outcome; requests: SentRequest[] }> {
  const { outcome, failures, requests } = await handle(body);
  expect(failures).toBe(0);
  expect(kinds, JSON.stringify(outcome.error)).toContain(outcome.outcome);
  expect(requests.length).toBeGreaterThan(0);
  const m = body as { jobId: string; appId?: string; account?: string };
  for (const r of requests) {
    expect(r.host, 'the Host header is the configured endpoint').toBe(hostOf(stack.sandbox.url));
    expect(r.hostname).toBe('127.0.0.1');
    const shape = documentedShape(provider, r);
    expect(shape, `${r.method} ${r.path} is a documented ${provider} request`).toBeDefined();
    if (shape?.jobId !== undefined) expect(shape.jobId).toBe(m.jobId);
    for (const [name, value] of Object.entries(r.headers))
      expect(/[\r\n\0]/.test(value), `header ${name} carries no CR, LF or NUL`).toBe(false);
    if (provider === 'cos') expect(r.headers['x-cos-appid']).toBe(m.appId);
    if (provider === 's3') expect(r.headers['x-amz-account-id']).toBe(m.account);
  }
  return { outcome, requests };
}

const storeJob = (p: ProviderName, jobId: string) => {
  const t = TARGETS[p] as { appId?: string; account?: string; region: string };
  const namespace = p === 'cos' ? t.appId! : p === 's3' ? t.account! : t.region;
  return stack.sandbox.store.get({ provider: p, namespace }, jobId);
};

// ── tables ────────────────────────────────────────────────────────────────────────────────────

const reason257 = `${'é'.repeat(128)}a`;
const INVALID: [name: string, body: string | object, field: string][] = [
  // the message as a whole
  ['not JSON', 'Ready, please', '(message)'],
  ['empty body', '', '(message)'],
  ['a JSON array', '[{"provider":"cos"}]', '(message)'],
  ['a JSON string', '"UpdateJobStatus"', '(message)'],
  ['JSON null', 'null', '(message)'],
  ['a number', '42', '(message)'],
  // wrong types
  ['provider as a number', status('cos', { provider: 7 }), 'provider'],
  ['provider unknown', status('cos', { provider: 'gcs' }), 'provider'],
  ['region as an array', status('cos', { region: [EXAMPLE_TARGETS.cos.region] }), 'region'],
  ['account as a number', status('cos', { account: 100000000001 }), 'account'],
  ['appId as a number', status('cos', { appId: 1250000000 }), 'appId'],
  ['jobId null', status('cos', { jobId: null }), 'jobId'],
  ['jobId an object', status('oss', { jobId: {} }), 'jobId'],
  ['action true', status('s3', { action: true }), 'action'],
  ['requestedJobStatus as a number', status('cos', { requestedJobStatus: 1 }), 'requestedJobStatus'],
  [
    'requestedJobStatus not requestable',
    status('oss', { requestedJobStatus: 'Active' }),
    'requestedJobStatus',
  ],
  ['statusUpdateReason as a number', status('s3', { statusUpdateReason: 42 }), 'statusUpdateReason'],
  ['priority as a string', priority('cos', { priority: '5' }), 'priority'],
  ['priority null', priority('oss', { priority: null }), 'priority'],
  ['notAfter as epoch seconds', status('cos', { notAfter: 1764000000 }), 'notAfter'],
  ['notAfter without an offset', status('cos', { notAfter: '2026-11-24T06:00:00' }), 'notAfter'],
  ['id as a number', status('cos', { id: 12 }), 'id'],
  ['select as a string', { ...without(status('cos'), 'jobId'), select: 'Suspended' }, 'select'],
  [
    'select.statuses as a string',
    { ...without(status('cos'), 'jobId'), select: { statuses: 'Suspended' } },
    'select.statuses',
  ],
  // required, exclusive, misplaced
  ['no requestedJobStatus', without(status('cos'), 'requestedJobStatus'), 'requestedJobStatus'],
  ['no priority', without(priority('s3'), 'priority'), 'priority'],
  ['priority on UpdateJobStatus', status('cos', { priority: 3 }), 'priority'],
  ['reason on UpdateJobPriority', priority('oss', { statusUpdateReason: 'x' }), 'statusUpdateReason'],
  ['neither jobId nor select', without(status('cos'), 'jobId'), 'jobId'],
  ['both jobId and select', status('cos', { select: { statuses: ['Suspended'] } }), 'select'],
  ['no account for cos', without(status('cos'), 'account'), 'account'],
  ['no appId for cos', without(status('cos'), 'appId'), 'appId'],
  ['appId on s3', status('s3', { appId: EXAMPLE_TARGETS.cos.appId }), 'appId'],
  ['no account for s3', without(status('s3'), 'account'), 'account'],
  [
    'unknown field (a typo)',
    { ...without(status('cos'), 'requestedJobStatus'), requestedStatus: 'Ready' },
    'requestedStatus',
  ],
  ['unknown field (wrong case)', { ...without(priority('cos'), 'priority'), Priority: 5 }, 'Priority'],
  // bounds
  ['priority -1', priority('cos', { priority: -1 }), 'priority'],
  ['priority 2147483648', priority('oss', { priority: MAX_PRIORITY + 1 }), 'priority'],
  ['priority 1.5', priority('s3', { priority: 1.5 }), 'priority'],
  [
    'priority 1e309 (Infinity)',
    JSON.stringify(priority('cos')).replace('"priority":5', '"priority":1e309'),
    'priority',
  ],
  ['reason of 257 bytes', status('cos', { statusUpdateReason: reason257 }), 'statusUpdateReason'],
  [
    'reason of 86 three-byte letters',
    status('s3', { statusUpdateReason: '夜'.repeat(86) }),
    'statusUpdateReason',
  ],
  ['id empty', status('cos', { id: '' }), 'id'],
  ['id of 129 characters', status('cos', { id: 'i'.repeat(129) }), 'id'],
  ['jobId empty', status('cos', { jobId: '' }), 'jobId'],
  ['jobId of 65 bytes', status('oss', { jobId: 'j'.repeat(65) }), 'jobId'],
  ['s3 jobId of 4 characters', status('s3', { jobId: 'abcd' }), 'jobId'],
  ['s3 jobId of 37 characters', status('s3', { jobId: 'a'.repeat(37) }), 'jobId'],
  ['s3 jobId with a dot', status('s3', { jobId: 'job.12345' }), 'jobId'],
  ['appId of 65 digits', status('cos', { appId: '1'.repeat(65) }), 'appId'],
  ['cos account of 65 digits', status('cos', { account: '1'.repeat(65) }), 'account'],
  ['s3 account of 11 digits', status('s3', { account: '12345678901' }), 'account'],
  ['region of 65 characters', status('oss', { region: 'a'.repeat(65) }), 'region'],
  ['select.max 0', { ...without(status('cos'), 'jobId'), select: { max: 0 } }, 'select.max'],
  ['select.max 100001', { ...without(status('cos'), 'jobId'), select: { max: 100_001 } }, 'select.max'],
  [
    'select.olderThanMinutes -1',
    { ...without(status('cos'), 'jobId'), select: { olderThanMinutes: -1 } },
    'select.olderThanMinutes',
  ],
  // Unicode
  [
    'reason with a lone high surrogate',
    status('cos', { statusUpdateReason: 'window \ud800 open' }),
    'statusUpdateReason',
  ],
  ['reason with a lone low surrogate', status('oss', { statusUpdateReason: '\udc00' }), 'statusUpdateReason'],
  ['id with a lone surrogate', status('s3', { id: 'nightly/\udbff' }), 'id'],
  ['id with a BEL', status('cos', { id: 'nightly\u0007' }), 'id'],
  ['id with a NEL (C1 control)', status('cos', { id: 'nightly\u0085x' }), 'id'],
  ['jobId with a lone surrogate', status('cos', { jobId: `${victims.cos}\ud800` }), 'jobId'],
  ['jobId with an RTL override', status('oss', { jobId: `\u202e${victims.oss}` }), 'jobId'],
  ['jobId with a combining mark', status('cos', { jobId: `${victims.cos}\u0301` }), 'jobId'],
  ['jobId with a zero-width space', status('cos', { jobId: `${victims.cos}\u200b` }), 'jobId'],
  ['region with a combining mark', status('cos', { region: 'ap-guangzhou\u0301' }), 'region'],
  ['region in full-width letters', status('oss', { region: 'ｃｎ-ｈａｎｇｚｈｏｕ' }), 'region'],
  ['region with an RTL override', status('s3', { region: 'us-east-1\u202e' }), 'region'],
  ['account in Arabic-Indic digits', status('s3', { account: '١٢٣٤٥٦٧٨٩٠١٢' }), 'account'],
  ['appId in full-width digits', status('cos', { appId: '１２５００００００' }), 'appId'],
  // CRLF and host injection
  ['region with a dot (another host)', status('cos', { region: 'ap-guangzhou.evil.example' }), 'region'],
  ['region with a port', status('oss', { region: 'evil.example:443' }), 'region'],
  ['region with a path', status('s3', { region: 'x/../y' }), 'region'],
  ['region with a fragment', status('cos', { region: 'evil.example#' }), 'region'],
  ['region with CRLF', status('oss', { region: 'cn-hangzhou\r\nHost: evil.example' }), 'region'],
  ['region in upper case', status('cos', { region: 'AP-GUANGZHOU' }), 'region'],
  ['account with userinfo', status('cos', { account: '100000000001@evil.example' }), 'account'],
  ['account with a dot', status('s3', { account: '123456789012.evil' }), 'account'],
  [
    'account with CRLF',
    status('s3', { account: '123456789012\r\nX-Amz-Account-Id: 999999999999' }),
    'account',
  ],
  ['account with a trailing space', status('cos', { account: '100000000001 ' }), 'account'],
  ['oss account with letters', status('oss', { account: 'evil' }), 'account'],
  ['appId with CRLF', status('cos', { appId: '1250000000\r\nHost: evil.example' }), 'appId'],
  ['appId with a trailing space', status('cos', { appId: '1250000000 ' }), 'appId'],
  ['jobId with CRLF', status('cos', { jobId: `${victims.cos}\r\nHost: evil.example` }), 'jobId'],
  ['jobId with LF only', status('oss', { jobId: `${victims.oss}\nx-oss-security-token: x` }), 'jobId'],
  ['jobId with a space', status('cos', { jobId: 'a b' }), 'jobId'],
  ['jobId with a tab', status('oss', { jobId: 'a\tb' }), 'jobId'],
  ['jobId with a NUL', status('cos', { jobId: 'a\u0000b' }), 'jobId'],
  ['s3 jobId climbing the path', status('s3', { jobId: '../../v20180820/jobs' }), 'jobId'],
  ['s3 jobId with a query', status('s3', { jobId: 'abcde?priority=1' }), 'jobId'],
  // prototype pollution
  ['__proto__ key', withRawKey(status('cos'), '__proto__', '{"polluted":true}'), '__proto__'],
  [
    'constructor key',
    withRawKey(status('oss'), 'constructor', '{"prototype":{"polluted":true}}'),
    'constructor',
  ],
  ['prototype key', withRawKey(status('s3'), 'prototype', '{"polluted":true}'), 'prototype'],
  [
    '__proto__ in select',
    {
      ...without(status('cos'), 'jobId'),
      select: JSON.parse('{"__proto__":{"max":1},"statuses":["Suspended"]}'),
    },
    'select.__proto__',
  ],
  // size and depth
  [
    'a reason of 256 KiB',
    status('cos', { statusUpdateReason: 'r'.repeat(256 * 1024) }),
    'statusUpdateReason',
  ],
  ['an unknown field of 256 KiB', { ...status('oss'), note: 'n'.repeat(256 * 1024) }, 'note'],
  ['10,000 levels of objects in an unknown field', withRawKey(status('cos'), 'deep', nested(10_000)), 'deep'],
  [
    '10,000 levels under select.statuses',
    withRawKey(
      without(status('cos'), 'jobId'),
      'select',
      `{"statuses":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    ),
    'select.statuses.0',
  ],
  ['10,000 levels of objects as the message', nested(10_000), 'provider'],
  ['256 KiB of nested arrays as the message', '['.repeat(128 * 1024) + ']'.repeat(128 * 1024), '(message)'],
];

describe('each malformed message is `invalid`, names its field, and sends nothing', () => {
  it.each(INVALID.map(([name, body, field]) => ({ name, body, field })))(
    '$name → invalid, field $field',
    async ({ body, field }) => {
      await expectInvalid(body, field);
    },
  );

  it('the jobs those messages aimed at are untouched, and no prototype was polluted', () => {
    for (const p of PROVIDERS)
      expect(storeJob(p, victims[p])).toMatchObject({
        status: 'Suspended',
        statusUpdateReason: null,
        priority: 10,
      });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('an invalid outcome still carries the id it can read, for correlation', async () => {
    const o = await expectInvalid(status('oss', { id: 'corr-1', priority: 1 }), 'priority');
    expect(o).toMatchObject({ id: 'corr-1', provider: 'oss', region: OSS.region, jobId: victims.oss });
  });

  // Regression: an unknown key used to be echoed whole, so a 200 KiB key made an outcome the
  // results queue (256 KiB) refused, and the message ended in the DLQ instead of being `invalid`.
  it('an unknown key of 200 KiB is still reported as invalid, in a short excerpt', async () => {
    const key = 'k'.repeat(200 * 1024);
    const { outcome, failures } = await handle(`{"${key}":1,${JSON.stringify(status('cos')).slice(1)}`);
    expect(failures).toBe(0);
    expect(outcome.outcome).toBe('invalid');
    expect(outcome.error?.field?.length).toBeLessThanOrEqual(128);
  });

  // Regression: the same echo put an unknown key's control characters, unescaped, into the outcome.
  it('an unknown key with CRLF is named without raw control characters', async () => {
    const { outcome, failures, sandboxRequests } = await handle(
      withRawKey(status('cos'), 'x\\r\\nX-Injected: 1', '1'),
    );
    expect(failures).toBe(0);
    expect(sandboxRequests).toBe(0);
    expect(outcome.outcome).toBe('invalid');
    expect(/[\u0000-\u001f]/.test(outcome.error!.field + outcome.error!.message)).toBe(false);
  });
});

describe('messages that validate, however odd, are sent only in documented shapes', () => {
  const REASONS: [name: string, reason: string][] = [
    ['CJK', '夜间窗口已开启，开始处理'],
    ['RTL override and Arabic', 'نافذة \u202egnp.exe\u202c مفتوحة'],
    ['combining marks', 'Z\u0351\u0352a\u0353\u0354l\u0355g\u0356o\u0301'],
    ['ZWJ emoji', '👩\u200d👩\u200d👧\u200d👦 night window'],
    ['exactly 256 bytes of two-byte letters', 'é'.repeat(128)],
    ['exactly 256 bytes of emoji', '😀'.repeat(64)],
    ['CRLF and a header line', 'ok\r\nHost: evil.example\r\nX-Amz-Account-Id: 999999999999'],
    ['quotes, ampersands, angle brackets', `<Reason a="1">&amp; '"</Reason>`],
  ];
  it.each(PROVIDERS.flatMap((p) => REASONS.map(([n, r]) => [p, n, r] as const)))(
    '%s reason (%s) reaches the provider byte for byte',
    async (p, _name, reason) => {
      const jobId = freshJob(p);
      const { outcome } = await expectSent(p, status(p, { jobId, statusUpdateReason: reason }), ['applied']);
      expect(outcome.status).toBe('Ready');
      expect(storeJob(p, jobId)?.statusUpdateReason).toBe(reason);
    },
  );

  it.each(PROVIDERS)('%s: an empty reason is not sent at all', async (p) => {
    const jobId = freshJob(p);
    const { requests } = await expectSent(p, status(p, { jobId, statusUpdateReason: '' }), ['applied']);
    for (const r of requests) expect(r.path).not.toMatch(/statusUpdateReason/i);
  });

  it.each(PROVIDERS.flatMap((p) => [0, MAX_PRIORITY].map((n) => [p, n] as const)))(
    '%s: priority %d is applied exactly',
    async (p, n) => {
      const { outcome } = await expectSent(p, priority(p, { jobId: active[p].jobId!, priority: n }), [
        'applied',
      ]);
      expect(outcome.priority).toBe(n);
      expect(storeJob(p, active[p].jobId!)?.priority).toBe(n);
    },
  );

  it('an id of 128 characters with an RTL override comes back unchanged', async () => {
    const id = `\u202e${'x'.repeat(127)}`;
    const { outcome } = await expectSent('cos', status('cos', { id, jobId: freshJob('cos') }), ['applied']);
    expect(outcome.id).toBe(id);
  });

  it('a valid message padded to 256 KiB with whitespace is applied', async () => {
    const json = JSON.stringify(status('oss', { jobId: freshJob('oss') }));
    const body = `${json.slice(0, -1)}${' '.repeat(256 * 1024 - utf8(json))}}`;
    expect(utf8(body)).toBe(256 * 1024);
    const { outcome } = await handle(body);
    expect(outcome.outcome).toBe('applied');
  });

  const ODD_IDS = [
    'a/b?c=d#e',
    '%2e%2e',
    '%2F..%2F',
    '@evil.example',
    '127.0.0.1:80',
    '\\..\\x',
    'x&requestedJobStatus=Cancelled',
  ];
  it.each(['cos', 'oss'].flatMap((p) => ODD_IDS.map((id) => [p as ProviderName, id] as const)))(
    '%s: jobId %j is sent percent-encoded where the provider expects it',
    async (p, jobId) => {
      const { outcome } = await expectSent(p, status(p, { jobId }), ['rejected']);
      expect(outcome.error?.httpStatus).toBe(404);
    },
  );

  // Regression: outcome bodies were plain JSON.stringify output, which leaves U+FFFE/U+FFFF (refused
  // by SQS) and astral characters (refused by the embedded queue) unescaped; an outcome echoing one
  // was never published, so the record failed on every delivery and ended in the DLQ.
  it.each([
    {
      name: 'an id with U+FFFF on a valid transition',
      p: 'cos' as const,
      extra: { id: 'night\uffff' },
      kind: 'applied',
    },
    { name: 'a region that is U+FFFE', p: 'oss' as const, extra: { region: '\ufffe' }, kind: 'invalid' },
    {
      name: 'a reason of 65 emoji (echoed in raw)',
      p: 's3' as const,
      extra: { statusUpdateReason: '😀'.repeat(65) },
      kind: 'invalid',
    },
  ])('$name still gets its outcome on the results queue', async ({ p, extra, kind }) => {
    const { outcome, failures } = await handle(status(p, { jobId: freshJob(p), ...extra }));
    expect(failures).toBe(0);
    expect(outcome.outcome).toBe(kind);
  });

  // Regression: "." and ".." validated as COS job ids and, left alone by percent-encoding, were
  // resolved away as path segments (`/jobs/../status` went out as `POST /status`).
  it.each(['..', '.'])('cos: jobId %j is invalid and sends nothing', async (jobId) => {
    await expectInvalid(status('cos', { jobId }), 'jobId');
  });
});

// ── properties ────────────────────────────────────────────────────────────────────────────────

/** The rules of docs/reference.md (and lib/providers/rules.ts) for the fields that shape a host, a path or a header. */
const RULE: Record<'region' | 'account' | 'appId' | 'jobId', (p: ProviderName, v: string) => boolean> = {
  region: (_p, v) => /^(?!-)[a-z0-9-]{1,63}(?<!-)$/.test(v),
  account: (p, v) => (p === 's3' ? /^[0-9]{12}$/ : /^[0-9]{1,64}$/).test(v),
  appId: (p, v) => p === 'cos' && /^[0-9]{1,64}$/.test(v),
  jobId: (p, v) => (p === 's3' ? /^[A-Za-z0-9_-]{5,36}$/ : /^(?!\.\.?$)[\x21-\x7e]{1,64}$/).test(v),
};
const INJECTIONS = [
  '\r\n',
  '\n',
  '\r',
  '\u0000',
  ' ',
  '\t',
  '@',
  '/',
  '#',
  '?',
  ':',
  '.',
  '..',
  '%0d%0a',
  '\\',
  '\u202e',
  '\u0301',
  '\u200b',
  '\ud800',
  '\udfff',
  'Ａ',
  '١',
];
const VALID_VALUE = {
  region: EXAMPLE_TARGETS.cos.region,
  account: EXAMPLE_TARGETS.s3.account,
  appId: EXAMPLE_TARGETS.cos.appId,
  jobId: 'abcdef-123',
};

describe('properties', () => {
  it(
    'a field of the wrong JSON type is invalid and names that field',
    async () => {
      const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
      const STRING_FIELDS = [
        'id',
        'provider',
        'region',
        'account',
        'appId',
        'jobId',
        'action',
        'requestedJobStatus',
        'statusUpdateReason',
        'notAfter',
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.record({
              field: fc.constantFrom(...STRING_FIELDS),
              value: fc.jsonValue().filter((v) => typeOf(v) !== 'string'),
            }),
            fc.record({
              field: fc.constant('priority'),
              value: fc.jsonValue().filter((v) => typeOf(v) !== 'number'),
            }),
          ),
          async ({ field, value }) => {
            const base = field === 'priority' ? priority('cos') : status('cos');
            await expectInvalid({ ...base, [field]: value }, field);
          },
        ),
        { numRuns: RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'region, account, appId and jobId: outside their rule → invalid and nothing sent; inside → only documented requests',
    async () => {
      const field = fc.constantFrom('region', 'account', 'appId', 'jobId' as const);
      const value = (f: keyof typeof VALID_VALUE) =>
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 70 }),
          fc.string({
            unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.'.split('')),
            minLength: 1,
            maxLength: 70,
          }),
          fc
            .tuple(fc.constantFrom(...INJECTIONS), fc.nat({ max: VALID_VALUE[f].length }))
            .map(([inj, at]) => VALID_VALUE[f].slice(0, at) + inj + VALID_VALUE[f].slice(at)),
        );
      const input = fc
        .record({ provider: fc.constantFrom(...PROVIDERS), field })
        .chain(({ provider, field }) => value(field).map((v) => ({ provider, field, v })));
      await fc.assert(
        fc.asyncProperty(input, async ({ provider, field, v }) => {
          const body = status(provider, { jobId: MISSING[provider], [field]: v });
          if (!RULE[field](provider, v)) await expectInvalid(body, field);
          else await expectSent(provider, body);
        }),
        { numRuns: RUNS * 2 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'any reason of at most 256 well-formed UTF-8 bytes reaches the provider exactly; longer or ill-formed is invalid',
    async () => {
      const reason = fc.oneof(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
        fc
          .tuple(
            fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }),
            fc.integer({ min: 1, max: 300 }),
          )
          .map(([s, n]) => s.repeat(n)),
      );
      let i = 0;
      await fc.assert(
        fc.asyncProperty(reason, async (r) => {
          const p = PROVIDERS[i++ % 3]!;
          if (!r.isWellFormed() || utf8(r) > 256) {
            await expectInvalid(status(p, { statusUpdateReason: r }), 'statusUpdateReason');
            return;
          }
          const jobId = freshJob(p);
          await expectSent(p, status(p, { jobId, statusUpdateReason: r }), ['applied']);
          expect(storeJob(p, jobId)?.statusUpdateReason).toBe(r);
        }),
        { numRuns: RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'priority: an integer 0–2147483647 is applied exactly; any other number is invalid',
    async () => {
      const n = fc.oneof(
        fc.integer({ min: 0, max: MAX_PRIORITY }),
        fc.constantFrom(0, 1, MAX_PRIORITY, MAX_PRIORITY - 1),
        fc.integer({ min: MAX_PRIORITY + 1, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
      );
      let i = 0;
      await fc.assert(
        fc.asyncProperty(n, async (value) => {
          const p = PROVIDERS[i++ % 3]!;
          const body = priority(p, { jobId: active[p].jobId!, priority: value });
          if (!(Number.isInteger(value) && value >= 0 && value <= MAX_PRIORITY)) {
            await expectInvalid(body, 'priority');
            return;
          }
          await expectSent(p, body, ['applied', 'unchanged']);
          expect(storeJob(p, active[p].jobId!)?.priority).toBe(value);
        }),
        { numRuns: RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
