/**
 * `jobctl describe` and `jobctl list` against the sandbox for COS, OSS and S3: filters, pagination,
 * output forms, and targets refused by the message rules with the flag named.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEED_FILE, loadSeedFile } from '../../lib/local/sandbox/seed';
import { type Sandbox, type SeedJob, startSandbox } from '../../lib/local/sandbox/server';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import type { Job } from '../../lib/providers/types';
import { cli, targetFlags } from '../support/io';

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let seed: SeedJob[];

beforeAll(async () => {
  seed = await loadSeedFile(DEFAULT_SEED_FILE);
  // 30 more COS jobs, so that a listing spans several pages.
  const many: SeedJob[] = Array.from({ length: 30 }, (_, i) => ({
    provider: 'cos',
    account: EXAMPLE_TARGETS.cos.account,
    appId: EXAMPLE_TARGETS.cos.appId,
    region: EXAMPLE_TARGETS.cos.region,
    jobId: `bulk-job-${String(i).padStart(4, '0')}`,
    status: 'Paused',
    description: `paged-${i}`,
    priority: 1,
    ageMinutes: 1000 + i,
  }));
  sb = await startSandbox({ seed: [...seed, ...many], pace: false });
  env = { ...sb.env, AWS_REGION: 'us-east-1', JOBCTL_RETRY_BUDGET_MS: '3000' };
});
afterAll(async () => {
  await sb.close();
});

const TARGETS = {
  cos: targetFlags(EXAMPLE_TARGETS.cos),
  oss: targetFlags(EXAMPLE_TARGETS.oss),
  s3: targetFlags(EXAMPLE_TARGETS.s3),
} as const;

const seeded = (provider: string) => seed.filter((j) => j.provider === provider);

describe.each(Object.keys(TARGETS) as (keyof typeof TARGETS)[])('%s', (provider) => {
  const target = TARGETS[provider];

  it('describe prints one job as JSON when piped', async () => {
    const job = seeded(provider).find((j) => j.description === 'nightly-logs-archive')!;
    const r = await cli(['describe', ...target, '--job', job.jobId!], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      jobId: job.jobId,
      status: 'Suspended',
      priority: 10,
      description: 'nightly-logs-archive',
    });
  });

  it('describe prints fields on a terminal', async () => {
    const job = seeded(provider).find((j) => j.description === 'bulk-migrate-2025-photos')!;
    const r = await cli(['describe', ...target, '--job', job.jobId!], { env, tty: true });
    expect(r.stdout).toMatch(
      new RegExp(
        `^job +${job.jobId}\\nstatus +Active\\npriority +50\\ndescription +bulk-migrate-2025-photos\\n`,
      ),
    );
  });

  it('describe of an unknown job exits 3 with the provider code', async () => {
    const r = await cli(['describe', ...target, '--job', 'unknown-job-1'], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^jobctl describe: (NoSuchJob|NotFoundException): .*\(HTTP 404, request id \S+\)\n$/,
    );
  });

  it('list filters by status and description prefix', async () => {
    const r = await cli(['list', ...target, '--status', 'Suspended', '--prefix', 'nightly-', '--json'], {
      env,
    });
    expect(r.code).toBe(0);
    const expected = seeded(provider)
      .filter((j) => j.status === 'Suspended' && j.description?.startsWith('nightly-'))
      .map((j) => j.jobId)
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(
      r
        .json<Job>()
        .map((j) => j.jobId)
        .sort(),
    ).toEqual(expected);
  });

  it('list with several statuses and no prefix', async () => {
    const r = await cli(['list', ...target, '--status', 'Complete', '--status', 'Failed'], { env });
    expect(
      r
        .json<Job>()
        .map((j) => j.description)
        .sort(),
    ).toEqual(['adhoc-copy-missing-role', 'weekly-compaction-2026-11-17']);
  });
});

describe('list across pages', () => {
  it('follows nextToken up to --max and says it stopped there', async () => {
    const r = await cli(['list', ...TARGETS.cos, '--prefix', 'paged-', '--max', '25'], { env });
    expect(r.code).toBe(0);
    expect(r.json()).toHaveLength(25);
    expect(r.stderr).toContain('stopped at --max 25');
  });

  it('lists all of them (default --max 100) as a table on a terminal', async () => {
    const r = await cli(['list', ...TARGETS.cos, '--status', 'Paused'], { env, tty: true });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^JOB ID +STATUS +PRIORITY +CREATED +DESCRIPTION$/);
    expect(lines.at(-1)).toBe('30 jobs');
    expect(lines).toHaveLength(32);
    expect(lines[1]).toMatch(/^bulk-job-0000 +Paused +1 +\d{4}-\d{2}-\d{2} \d{2}:\d{2}Z +paged-0$/);
    expect(r.stderr).toBe('');
  });
});

describe('targets are checked with the message rules, naming the flag (exit 2, nothing sent)', () => {
  it.each([
    [
      [
        'describe',
        '--provider',
        'cos',
        '--region',
        'ap_guangzhou',
        '--account',
        '1',
        '--app-id',
        '1',
        '--job',
        'x',
      ],
      '--region: must match ^[a-z0-9-]{1,63}$, not starting or ending with -',
    ],
    [
      ['describe', '--provider', 's3', '--region', 'us-east-1', '--account', '1234', '--job', 'abcdef'],
      '--account: must be the 12-digit AWS account id',
    ],
    [
      ['describe', ...targetFlags(EXAMPLE_TARGETS.s3), '--job', 'a/b'],
      '--job: must be 5–36 characters of [A-Za-z0-9_-] for s3',
    ],
    [
      ['describe', '--provider', 'gcs', '--region', 'x', '--job', 'abcdef'],
      '--provider: must be one of cos, oss, s3',
    ],
    [
      [
        'describe',
        '--provider',
        'cos',
        '--region',
        EXAMPLE_TARGETS.cos.region,
        '--account',
        EXAMPLE_TARGETS.cos.account,
        '--job',
        'x',
      ],
      '--app-id: is required for cos',
    ],
    [['describe', ...targetFlags(EXAMPLE_TARGETS.oss)], '--job is required'],
    [['list', ...targetFlags(EXAMPLE_TARGETS.oss), '--app-id', '1'], '--app-id: is only used by cos'],
    [['list', ...targetFlags(EXAMPLE_TARGETS.oss), '--status', 'Running'], '--status: must be one of New'],
    [
      ['list', ...targetFlags(EXAMPLE_TARGETS.oss), '--max', '0'],
      '--max: must be an integer from 1 to 100000',
    ],
    [['list', '--provider', 'oss'], '--region: is required'],
  ])('%j', async (argv, message) => {
    const before = sb.stats().requests;
    const r = await cli(argv, { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(sb.stats().requests).toBe(before);
  });
});
