import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadPolicies, PolicyFileError, parsePolicies } from './policies';

const one = (body: string) => `policies:\n  - name: p1\n${body}`;
const base = `    target: { provider: cos, region: ap-guangzhou, account: '100000000001', appId: '1250000000' }
    match: { descriptionPrefix: nightly- }
`;

describe('parsePolicies', () => {
  it('reads the shipped policies.yml with its defaults', async () => {
    const r = parsePolicies(await readFile(new URL('../../policies.yml', import.meta.url), 'utf8'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.policies.map((p) => [p.name, p.mode, p.confirm])).toEqual([
      ['cos-nightly-window', 'enforce', 'window'],
      ['cos-bulk-guard', 'enforce', 'never'],
      ['oss-nightly-window', 'enforce', 'window'],
      ['s3-nightly-report', 'report', 'window'],
    ]);
    const oss = r.policies[2]!;
    expect(oss.window).toMatchObject({
      days: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
      start: 1380,
      end: 300,
    });
    expect(oss.enabled).toBe(true);
    expect(r.policies[0]!.line).toBe(20);
  });

  it.each([
    [
      'a bad end time',
      `${base}    window: { timezone: Asia/Shanghai, start: '01:00', end: '25:00' }\n`,
      'p1',
      'window.end',
      /HH:MM/,
      5,
    ],
    [
      'start == end',
      `${base}    window: { timezone: Asia/Shanghai, start: '01:00', end: '01:00' }\n`,
      'p1',
      'window',
      /must differ/,
      5,
    ],
    [
      'an unknown zone',
      `${base}    window: { timezone: Mars/Olympus, start: '01:00', end: '02:00' }\n`,
      'p1',
      'window.timezone',
      /IANA/,
      5,
    ],
    [
      'a bad day',
      `${base}    window: { timezone: UTC, days: [MON, FUN], start: '01:00', end: '02:00' }\n`,
      'p1',
      'window.days.1',
      /one of SUN/,
      5,
    ],
    ['an unknown confirm', `${base}    confirm: sometimes\n`, 'p1', 'confirm', /window, always or never/, 5],
    [
      'a ratio above 1',
      `${base}    cancel: { failedRatioAbove: 5 }\n`,
      'p1',
      'cancel.failedRatioAbove',
      /fraction/,
      5,
    ],
    [
      'afterTasks alone',
      `${base}    cancel: { afterTasks: 10 }\n`,
      'p1',
      'cancel',
      /afterTasks only qualifies/,
      5,
    ],
    ['maxActive 0', `${base}    maxActive: 0\n`, 'p1', 'maxActive', /integer from 1/, 5],
    [
      'an empty match',
      `    target: { provider: oss, region: cn-hangzhou }\n    match: {}\n`,
      'p1',
      'match',
      /at least one condition/,
      4,
    ],
    ['an unknown field', `${base}    widow: {}\n`, 'p1', 'widow', /not a known field/, 5],
    ['a missing target', `    match: { descriptionPrefix: x }\n`, 'p1', 'target', /is required/, 2],
    [
      'an unquoted account',
      `    target: { provider: s3, region: us-east-1, account: 123456789012 }\n    match: { descriptionPrefix: x }\n`,
      'p1',
      'target.account',
      /quoted string/,
      3,
    ],
    [
      'a COS target without appId',
      `    target: { provider: cos, region: ap-guangzhou, account: '1' }\n    match: { descriptionPrefix: x }\n`,
      'p1',
      'target.appId',
      /required for cos/,
      3,
    ],
    [
      'an appId on s3',
      `    target: { provider: s3, region: us-east-1, account: '123456789012', appId: '1' }\n    match: { descriptionPrefix: x }\n`,
      'p1',
      'target.appId',
      /only used by cos/,
      3,
    ],
  ])('%s: names the policy, field, rule and line', (_n, body, policy, field, rule, line) => {
    const r = parsePolicies(one(body), 'f.yml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    const e = r.errors[0]!;
    expect(e).toMatchObject({ policy, field, line });
    expect(e.rule).toMatch(rule);
    expect(e.message).toBe(`f.yml:${line}: policy ${policy}: ${field}: ${e.rule}`);
  });

  it('a bad name is reported by index; duplicates name the earlier one; every broken policy is listed', () => {
    const text = `policies:\n  - name: 'bad name'\n${base}  - name: a\n${base}  - name: a\n${base}`;
    const r = parsePolicies(text, 'f.yml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.message)).toEqual([
      'f.yml:2: policy #0: name: must be 1–64 of [A-Za-z0-9_.-]',
      'f.yml:8: policy a: name: must be unique in the file (also policy #1)',
    ]);
  });

  it('YAML syntax errors and a missing list carry the line', () => {
    const bad = parsePolicies('policies:\n  - name: a\n    target: {provider: cos\n', 'f.yml');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors[0]!.message).toMatch(/^f\.yml:\d+: \(yaml\): /);
    const none = parsePolicies('rules: []\n', 'f.yml');
    expect(none.ok).toBe(false);
    if (!none.ok)
      expect(none.errors[0]!.message).toBe(
        'f.yml:1: policies: must be a list of policies under the top-level key `policies:`',
      );
  });

  it('loadPolicies throws PolicyFileError for an unreadable file', async () => {
    await expect(loadPolicies('/nonexistent/policies.yml')).rejects.toBeInstanceOf(PolicyFileError);
  });
});
