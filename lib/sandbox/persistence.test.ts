/**
 * Persistence under a data directory: what changed before a close is there after a restart, the
 * seed is not applied over saved state, and writes never leave a half-written file behind.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STATE_FILE } from './persistence';
import { startSandbox } from './server';
import { cosCall, cosSdk, EXAMPLE } from './testkit';
import type { Scope, SeedJob } from './types';

const SCOPE: Scope = { provider: 'cos', namespace: EXAMPLE.cos.appId };
const SEED: SeedJob[] = [
  {
    provider: 'cos',
    appId: EXAMPLE.cos.appId,
    jobId: 'seeded-1',
    status: 'Suspended',
    description: 'nightly-1',
  },
  {
    provider: 'cos',
    appId: EXAMPLE.cos.appId,
    jobId: 'seeded-2',
    status: 'Suspended',
    description: 'nightly-2',
  },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jobctl-sandbox-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('dataDir', () => {
  it('keeps jobs and their changes across a restart, and ignores the seed once state exists', async () => {
    let t = Date.UTC(2026, 10, 24);
    const first = await startSandbox({ dataDir: dir, seed: SEED, pace: { stepMs: 1000 }, now: () => t });
    const r = await cosCall(cosSdk(first), first, {
      method: 'POST',
      path: '/jobs/seeded-1/status',
      query: { requestedJobStatus: 'Ready', statusUpdateReason: 'confirmed before restart' },
    });
    expect(r.ok).toBe(true);
    await cosCall(cosSdk(first), first, {
      method: 'POST',
      path: '/jobs/seeded-2/priority',
      query: { priority: '77' },
    });
    const before = first.store.all();
    await first.close();

    const second = await startSandbox({
      dataDir: dir,
      seed: [{ provider: 'cos', appId: EXAMPLE.cos.appId, jobId: 'never-loaded', status: 'Active' }],
      pace: { stepMs: 1000 },
      now: () => t,
    });
    try {
      expect(second.store.all()).toEqual(before);
      expect(second.store.get(SCOPE, 'seeded-1')).toMatchObject({
        status: 'Ready',
        statusUpdateReason: 'confirmed before restart',
      });
      expect(second.store.get(SCOPE, 'seeded-2')!.priority).toBe(77);
      expect(second.store.get(SCOPE, 'never-loaded')).toBeUndefined();
      // The restored job moves on from where it was.
      t += 1000;
      expect(second.store.get(SCOPE, 'seeded-1')!.status).toBe('Active');
    } finally {
      await second.close();
    }
  });

  it('writes the seed at once, as one JSON file and no leftovers', async () => {
    const sb = await startSandbox({ dataDir: dir, seed: SEED, pace: false });
    await sb.close();
    expect(await readdir(dir)).toEqual([STATE_FILE]);
    const saved = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'));
    expect(saved.format).toBe('jobctl-sandbox/1');
    expect(saved.jobs.map((j: { jobId: string }) => j.jobId).sort()).toEqual(['seeded-1', 'seeded-2']);
  });

  it('refuses to start over a corrupt state file rather than silently starting empty', async () => {
    await writeFile(join(dir, STATE_FILE), '{"format": "jobctl-sandbox/1", "jobs": [', 'utf8');
    await expect(startSandbox({ dataDir: dir })).rejects.toThrow(/not valid JSON.*move it away/);
  });

  it('creates the data directory when it does not exist yet', async () => {
    const nested = join(dir, 'a', 'b');
    const sb = await startSandbox({ dataDir: nested, seed: SEED, pace: false });
    await sb.close();
    expect(await readdir(nested)).toEqual([STATE_FILE]);
  });
});
