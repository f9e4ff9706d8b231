/**
 * `jobctl plan` against the sandbox's shipped example jobs and the shipped policies.yml: the JSON
 * form, `--at`, `--explain`, the table, and exit 2 naming the policy, field and rule.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hold, PlannedAction, PlanWarning } from '../../lib/core/planner';
import { DEFAULT_SEED_FILE, loadSeedFile } from '../../lib/local/sandbox/seed';
import { type Sandbox, type SeedJob, startSandbox } from '../../lib/local/sandbox/server';
import { cli } from '../support/io';

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let seed: SeedJob[];
let dir: string;

beforeAll(async () => {
  seed = await loadSeedFile(DEFAULT_SEED_FILE);
  sb = await startSandbox({ seed, pace: false });
  env = { ...sb.env, AWS_REGION: 'us-east-1', JOBCTL_RETRY_BUDGET_MS: '3000' };
  dir = await mkdtemp(join(tmpdir(), 'jobctl-plan-'));
});
afterAll(async () => {
  await sb.close();
  await rm(dir, { recursive: true, force: true });
});

/** The next Monday 01:30 in Shanghai: the COS nightly window is open then. */
function nextMonday0130(): string {
  const day = 86_400_000;
  let t = Math.floor(Date.now() / day) * day + day; // a UTC midnight ahead
  while (new Date(t + 8 * 3600_000).getUTCDay() !== 1) t += day;
  const d = new Date(t).toISOString().slice(0, 10);
  return `${d}T01:30:00+08:00`;
}

interface PlanJson {
  at: string;
  actions: PlannedAction[];
  holds: Hold[];
  warnings: PlanWarning[];
  unlisted: unknown[];
}

describe('jobctl plan', () => {
  it('--at an open window: confirms up to maxActive, holds the rest, report mode marked', async () => {
    const at = nextMonday0130();
    const r = await cli(['plan', '--policies', 'policies.yml', '--at', at, '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [p] = r.json<PlanJson>();
    expect(p!.at).toBe(new Date(at).toISOString());
    expect(p!.unlisted).toEqual([]);
    const cos = p!.actions.filter((a) => a.policy === 'cos-nightly-window');
    const confirms = cos.filter((a) => a.verb === 'confirm');
    expect(confirms).toHaveLength(3);
    // highest priority first: nightly-media-restore (20) leads
    const described = (id: string) => seed.find((j) => j.jobId === id)?.description;
    expect(described(confirms[0]!.jobId)).toBe('nightly-media-restore');
    expect(confirms[0]!.reason).toMatch(/open; 0 of maxActive 3 running$/);
    expect(p!.holds.filter((h) => h.policy === 'cos-nightly-window').map((h) => h.reason)).toEqual([
      'maxActive 3 reached (3 Ready/Active/Pausing/Paused)',
      'maxActive 3 reached (3 Ready/Active/Pausing/Paused)',
    ]);
    // every COS nightly job is raised to priority.open
    expect(cos.filter((a) => a.verb === 'priority').map((a) => a.priority)).toEqual([
      100, 100, 100, 100, 100,
    ]);
    // bulk- jobs: confirm never, nothing failing: no actions; the terminal ones are never named
    const terminal = new Set(
      seed.filter((j) => ['Complete', 'Cancelled', 'Failed'].includes(j.status)).map((j) => j.jobId),
    );
    for (const a of p!.actions) expect(terminal.has(a.jobId)).toBe(false);
    expect(p!.actions.filter((a) => a.policy === 's3-nightly-report').every((a) => a.mode === 'report')).toBe(
      true,
    );
  });

  it('--explain: every policy says its verdict on one job', async () => {
    const job = seed.find((j) => j.provider === 'cos' && j.description === 'nightly-reports-copy')!;
    const r = await cli(['plan', '--at', nextMonday0130(), '--explain', job.jobId!, '--json'], { env });
    expect(r.code).toBe(0);
    const verdicts = r.json<{ verdicts: { policy: string; verdict: string; detail: string }[] }>()[0]!
      .verdicts;
    expect(verdicts.map((v) => [v.policy, v.verdict])).toEqual([
      ['cos-nightly-window', 'act'],
      ['cos-bulk-guard', 'not matched'],
      ['oss-nightly-window', 'not listed'],
      ['s3-nightly-report', 'not listed'],
    ]);
    expect(verdicts[0]!.detail).toBe(
      'priority: window 01:00–06:00 Asia/Shanghai MON,TUE,WED,THU,FRI open: priority 5 → 100 (priority.open); held: maxActive 3 reached (3 Ready/Active/Pausing/Paused)',
    );
    expect(verdicts[1]!.detail).toBe('description "nightly-reports-copy" does not start with "bulk-"');
  });

  it('prints a table on a terminal', async () => {
    const r = await cli(['plan', '--at', nextMonday0130()], { env, tty: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^plan at .*: \d+ actions, \d+ holds, \d+ warnings\n/);
    expect(r.stdout).toContain('\nHOLDS\n');
  });

  it('exit 2 for an invalid policy file, naming the policy, field, rule and line', async () => {
    const f = join(dir, 'bad.yml');
    await writeFile(
      f,
      "policies:\n  - name: p\n    target: { provider: oss, region: cn-hangzhou }\n    match: { descriptionPrefix: x }\n    window: { timezone: UTC, start: '01:00', end: '01:00' }\n",
    );
    const r = await cli(['plan', '--policies', f], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `${f}:5: policy p: window: start and end must differ (an empty window never opens)\n`,
    );
    const missing = await cli(['plan', '--policies', join(dir, 'none.yml')], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot be read (ENOENT)');
  });

  it('exit 2 for a bad --at', async () => {
    const r = await cli(['plan', '--at', 'tonight'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--at: must be an ISO 8601 time');
  });
});
