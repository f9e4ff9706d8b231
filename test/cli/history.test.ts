/**
 * `jobctl history` against a real dynalite: the whole story of one job (terminal timeline and JSON
 * lines), a policy's and a target's recent jobs, the filters, and refusals of bad options.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../lib/core/outcome';
import { createLedger, type LedgerTarget, type SettledMessage } from '../../lib/lambda/ledger';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import { cli, targetFlags } from '../support/io';
import { createLedgerTable, type LocalDynamo, startLocalDynamo } from '../support/ledger';

const COS: LedgerTarget = EXAMPLE_TARGETS.cos;
const FLAGS = targetFlags(EXAMPLE_TARGETS.cos);
const t = (min: number) => new Date(Date.UTC(2026, 11, 6, 1, min));

let local: LocalDynamo;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  local = await startLocalDynamo();
  await createLedgerTable(local.client(), 'history');
  env = {
    JOBCTL_TABLE: 'history',
    AWS_ENDPOINT_URL_DYNAMODB: local.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
  const published: SettledMessage[] = [];
  const ledger = createLedger({
    client: local.client(),
    table: 'history',
    publish: async (m) => void published.push(m),
  });
  const o: Outcome = {
    id: 'nightly-2026-12-06/j1',
    provider: 'cos',
    region: COS.region,
    account: COS.account!,
    jobId: 'j1',
    action: 'UpdateJobStatus',
    outcome: 'applied',
    status: 'Ready',
    priority: null,
    error: null,
    attempts: 1,
    trigger: { type: 'schedule', schedule: 'nightly', fireTime: t(0).toISOString() },
    startedAt: t(0).toISOString(),
    finishedAt: t(0).toISOString(),
  };
  await ledger.recordOutcome(o, {
    appId: COS.appId,
    requestedJobStatus: 'Ready',
    statusUpdateReason: 'window opened',
  });
  const p = { total: 10, succeeded: 4, failed: 0 };
  const policyOf = () => 'nightly-window';
  await ledger.observe(COS, [{ jobId: 'j1', status: 'Active', progress: p }], t(1), { policyOf });
  await ledger.observe(
    COS,
    [{ jobId: 'j1', status: 'Complete', progress: { total: 10, succeeded: 8, failed: 2 } }],
    t(2),
    {
      policyOf,
    },
  );
  await ledger.observe(COS, [{ jobId: 'j2', status: 'Suspended' }], t(3), { policyOf });
  expect(published).toHaveLength(1);
});
afterAll(async () => {
  await local?.close();
});

describe('jobctl history', () => {
  it('prints the whole story of one job, newest first, as a timeline on a terminal', async () => {
    const r = await cli(['history', ...FLAGS, '--job', 'j1'], { env, tty: true });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      `${t(2).toISOString()}  verdict   partial: Complete (8/10 tasks done, 2 failed)`,
      `${t(2).toISOString()}  status    Active → Complete (8/10 tasks done, 2 failed)`,
      `${t(1).toISOString()}  status    Ready → Active (4/10 tasks done, 0 failed)`,
      `${t(0).toISOString()}  applied   status Ready "window opened" [schedule] nightly-2026-12-06/j1`,
    ]);
  });

  it('JSON lines when piped; --since and --outcome filter', async () => {
    const all = await cli(['history', ...FLAGS, '--job', 'j1'], { env });
    expect(all.json<{ kind: string }>().map((e) => e.kind)).toEqual([
      'settled',
      'status',
      'status',
      'outcome',
    ]);
    const recent = await cli(['history', ...FLAGS, '--job', 'j1', '--since', t(1).toISOString()], { env });
    expect(recent.json().length).toBe(3);
    const partial = await cli(['history', ...FLAGS, '--job', 'j1', '--outcome', 'partial'], { env });
    expect(partial.json()).toEqual([
      expect.objectContaining({ kind: 'settled', jobId: 'j1', appId: EXAMPLE_TARGETS.cos.appId }),
    ]);
  });

  it("a policy's and a target's recent jobs through their indexes", async () => {
    const byPolicy = await cli(['history', '--policy', 'nightly-window', '--json'], { env });
    expect(byPolicy.code).toBe(0);
    const jobs = byPolicy.json<{ jobId: string; at: string }>();
    expect(jobs[0]).toMatchObject({ jobId: 'j2', at: t(3).toISOString() });
    expect(new Set(jobs.map((e) => e.jobId))).toEqual(new Set(['j1', 'j2']));
    const byTarget = await cli(['history', ...FLAGS, '--json', '--since', t(3).toISOString()], { env });
    expect(byTarget.json<{ jobId: string }>().map((e) => e.jobId)).toEqual(['j2']);
    const none = await cli(['history', ...targetFlags(EXAMPLE_TARGETS.oss), '--json'], { env });
    expect(none).toMatchObject({ code: 0, stdout: '' });
  });

  it.each([
    [['history'], /--policy NAME or a target/],
    [['history', '--policy', 'p', ...FLAGS], /not both/],
    [['history', ...FLAGS, '--since', 'yesterday'], /--since must be an ISO 8601 time/],
    [['history', ...FLAGS, '--outcome', 'great'], /--outcome must be one of/],
    [['history', '--provider', 'cos', '--region', 'BAD', '--job', 'j1'], /--region/],
  ])('refuses %j (exit 2)', async (argv, message) => {
    const r = await cli(argv, { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('without JOBCTL_TABLE, or with the ledger unreachable, says so (exit 1)', async () => {
    const missing = await cli(['history', ...FLAGS], { env: { ...env, JOBCTL_TABLE: '' } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/JOBCTL_TABLE is not set/);
    const gone = await cli(['history', ...FLAGS], { env: { ...env, JOBCTL_TABLE: 'no-such-table' } });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/cannot be read: ResourceNotFoundException/);
  });
});
