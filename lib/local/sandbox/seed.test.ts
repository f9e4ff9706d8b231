/**
 * The shipped seed set and generated benchmark sets: the example targets have the jobs the README's
 * examples rely on, ids look like the providers' own, and malformed seeds fail loudly.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE } from '../../../test/support/sandbox';
import { EXAMPLE_TARGETS } from '../../providers/examples';
import { PROVIDERS } from '../../providers/types';
import { JOB_ID_PATTERNS, jobIdFromBytes } from './ids';
import { DEFAULT_SEED_FILE, generateJobs, loadSeedFile, parseSeed } from './seed';
import { seedNamespace } from './store';

const jobs = await loadSeedFile(DEFAULT_SEED_FILE);

describe('events/sandbox-jobs.json', () => {
  const namespaces = { cos: EXAMPLE.cos.appId, oss: EXAMPLE.oss.region, s3: EXAMPLE.s3.account };

  it.each(PROVIDERS)(
    '%s: the example target has nightly- Suspended, bulk- Active and finished jobs',
    (provider) => {
      const mine = jobs.filter((j) => j.provider === provider && seedNamespace(j) === namespaces[provider]);
      const has = (status: string, prefix?: string) =>
        mine.filter((j) => j.status === status && (prefix === undefined || j.description?.startsWith(prefix)))
          .length;
      expect(has('Suspended', 'nightly-')).toBeGreaterThanOrEqual(3);
      expect(has('Active', 'bulk-')).toBeGreaterThanOrEqual(1);
      expect(has('Complete')).toBeGreaterThanOrEqual(1);
      expect(has('Cancelled') + has('Failed')).toBeGreaterThanOrEqual(1);
      // Some nightly- jobs are older than the README's `olderThanMinutes: 30` and some are not.
      const ages = mine.filter((j) => j.status === 'Suspended').map((j) => j.ageMinutes ?? 0);
      expect(ages.some((a) => a > 30) && ages.some((a) => a < 30)).toBe(true);
    },
  );

  it('uses ids in each provider’s format, all distinct', () => {
    for (const j of jobs) expect(j.jobId).toMatch(JOB_ID_PATTERNS[j.provider]);
    expect(new Set(jobs.map((j) => j.jobId)).size).toBe(jobs.length);
  });

  it('carries the COS account and region alongside the APPID', () => {
    const cos = jobs.filter((j) => j.provider === 'cos');
    expect(cos.every((j) => j.account === EXAMPLE.cos.account && j.region === EXAMPLE.cos.region)).toBe(true);
  });

  it('seeds only the example targets (lib/providers/examples.ts), so the README and help address its jobs', () => {
    const namespace = { cos: 'appId', oss: 'region', s3: 'account' } as const;
    const example: Record<string, Record<string, string | undefined>> = EXAMPLE;
    const outside = jobs.filter(
      (j) => j[namespace[j.provider]] !== example[j.provider]![namespace[j.provider]],
    );
    expect(outside).toEqual([]);
    expect(new Set(jobs.map((j) => j.provider))).toEqual(new Set(['cos', 'oss', 's3']));
  });
});

describe('ids', () => {
  it('makes OSS ids of 44 base64 characters ending in = and never + or /', () => {
    for (const fill of [0x00, 0xff, 0x7f, 0xaa]) {
      const id = jobIdFromBytes('oss', new Uint8Array(16).fill(fill));
      expect(id).toMatch(/^[A-Za-z0-9]{43}=$/);
    }
  });

  it('makes S3 ids that fit 5–36 of [A-Za-z0-9_-] and COS ids that are UUIDs', () => {
    const bytes = new Uint8Array(16).fill(0xff);
    expect(jobIdFromBytes('s3', bytes)).toMatch(/^[A-Za-z0-9_-]{5,36}$/);
    expect(jobIdFromBytes('cos', bytes)).toMatch(JOB_ID_PATTERNS.cos);
  });
});

describe('generateJobs', () => {
  it('makes 10,000 Suspended nightly- jobs with distinct, valid, repeatable ids', () => {
    const a = generateJobs(10_000, { provider: 'cos', appId: EXAMPLE.cos.appId });
    const b = generateJobs(10_000, { provider: 'cos', appId: EXAMPLE.cos.appId });
    expect(a).toHaveLength(10_000);
    expect(a.every((j) => j.status === 'Suspended' && j.description?.startsWith('nightly-'))).toBe(true);
    expect(a.every((j) => JOB_ID_PATTERNS.cos.test(j.jobId!))).toBe(true);
    expect(new Set(a.map((j) => j.jobId)).size).toBe(10_000);
    expect(a.map((j) => j.jobId)).toEqual(b.map((j) => j.jobId));
    expect(generateJobs(3, { provider: 'cos', appId: '1', seed: 2 })[0]!.jobId).not.toBe(a[0]!.jobId);
  });

  it('numbers jobs oldest first, a minute apart', () => {
    const jobs = generateJobs(3, {
      provider: 'oss',
      region: EXAMPLE_TARGETS.oss.region,
      ageMinutes: 100,
      status: 'Active',
    });
    expect(jobs.map((j) => [j.description, j.ageMinutes, j.status])).toEqual([
      ['nightly-bench-00001', 102, 'Active'],
      ['nightly-bench-00002', 101, 'Active'],
      ['nightly-bench-00003', 100, 'Active'],
    ]);
  });
});

describe('parseSeed', () => {
  it.each([
    [[{ provider: 'gcs', status: 'Active' }], /provider: must be one of cos, oss, s3/],
    [[{ provider: 'cos', status: 'Running' }], /status: must be one of/],
    [[{ provider: 'cos', status: 'Active', prio: 1 }], /unknown field "prio"/],
    [[{ provider: 'cos', status: 'Active', priority: '1' }], /priority: must be a number/],
    [{ nope: [] }, /expected \{"jobs": \[...\]\}/],
  ])('refuses %j', (input, message) => {
    expect(() => parseSeed(input)).toThrow(message);
  });

  it('accepts a bare array and ignores "$"-prefixed notes', () => {
    expect(
      parseSeed([{ $comment: 'x', provider: 's3', account: EXAMPLE_TARGETS.s3.account, status: 'New' }]),
    ).toEqual([{ provider: 's3', account: EXAMPLE_TARGETS.s3.account, status: 'New' }]);
  });

  it('names the missing namespace field', () => {
    expect(() => seedNamespace({ provider: 'oss', status: 'Active' })).toThrow(/needs "region"/);
    expect(() => seedNamespace({ provider: 'cos', status: 'Active', account: '1' })).toThrow(/needs "appId"/);
  });
});

describe('a malformed seed file', () => {
  it('fails naming the file and the line and column where its JSON breaks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobctl-seed-'));
    try {
      const file = join(dir, 'jobs.json');
      writeFileSync(file, '{"jobs": [\n  {"provider": "cos",, "status": "Suspended"}\n]}\n');
      await expect(loadSeedFile(file)).rejects.toThrow(`${file}: not valid JSON`);
      await expect(loadSeedFile(file)).rejects.toThrow(/at line 2 column 22\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
