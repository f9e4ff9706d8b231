/**
 * Persistence under a data directory: what changed before a close is there after a restart, the
 * seed is not applied over saved state, and writes never leave a half-written file behind.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cosCall, cosSdk, EXAMPLE } from '../../../test/support/sandbox';
import { DEFAULT_CREDENTIALS } from './credentials';
import { JOURNAL_FILE, STATE_FILE } from './persistence';
import { type Sandbox, startSandbox } from './server';
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

  it('a malformed sandbox.json fails naming the file and where the JSON breaks', async () => {
    const file = join(dir, STATE_FILE);
    await writeFile(file, '{"format": "jobctl-sandbox/1",\n "jobs": [}\n', 'utf8');
    await expect(startSandbox({ dataDir: dir })).rejects.toThrow(`${file}: not valid JSON`);
    await expect(startSandbox({ dataDir: dir })).rejects.toThrow(/at line 2 column 11/);
    // Valid JSON that is not a state file, or holds something that is not a job, names it too.
    for (const [text, message] of [
      ['null', `${file}: not a jobctl-sandbox/1 state file`],
      ['{"format": "jobctl-sandbox/1", "jobs": [5]}', `${file}: jobs[0]: not a sandbox job`],
      [
        '{"format": "jobctl-sandbox/1", "jobs": [{"provider": "cos"}]}',
        `${file}: jobs[0]: not a sandbox job`,
      ],
    ] as const) {
      await writeFile(file, text, 'utf8');
      await expect(startSandbox({ dataDir: dir })).rejects.toThrow(message);
    }
    // Refused, not overwritten, and the directory is free again.
    expect(await readFile(file, 'utf8')).toContain('"provider": "cos"');
    expect(await readdir(dir)).toEqual([STATE_FILE]);
  });

  it('creates the data directory when it does not exist yet', async () => {
    const nested = join(dir, 'a', 'b');
    const sb = await startSandbox({ dataDir: nested, seed: SEED, pace: false });
    await sb.close();
    expect(await readdir(nested)).toEqual([STATE_FILE]);
  });
});

describe('dataDir under kill -9', () => {
  it('every acknowledged change is there after a kill right after the answers; one sandbox per directory; no temp files', async () => {
    const JOBS = 300;
    const seed: SeedJob[] = Array.from({ length: JOBS }, (_, i) => ({
      provider: 'cos',
      appId: EXAMPLE.cos.appId,
      account: EXAMPLE.cos.account,
      region: EXAMPLE.cos.region,
      jobId: `kill-${i}`,
      status: 'Suspended',
    }));
    // The sandbox in a child process, so that it dies the way `jobctl sandbox` or `jobctl run` would.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        '--input-type=module',
        '-e',
        `const { startSandbox } = await import(${JSON.stringify(new URL('./server.ts', import.meta.url).href)});
         const sb = await startSandbox({ dataDir: ${JSON.stringify(dir)}, seed: ${JSON.stringify(seed)}, pace: false });
         console.log('URL=' + sb.url);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(child, 'exit');
    try {
      let out = '';
      while (!/URL=\S+\n/.test(out)) out += String(((await once(child.stdout!, 'data')) as [Buffer])[0]);
      const sb = { url: /URL=(\S+)/.exec(out)![1]!, credentials: DEFAULT_CREDENTIALS } as Sandbox;
      const cos = cosSdk(sb);

      // A second sandbox on the same directory is refused while the first runs.
      await expect(startSandbox({ dataDir: dir, pace: false })).rejects.toThrow(
        new RegExp(`${dir}.* is in use by process ${child.pid} .*sandbox\\.lock.*stop it`),
      );

      // 6 workers change jobs (priority, then Ready) until 200 changes are answered; the kill comes
      // in the same tick as the 200th answer, with changes still in flight.
      const acked = new Map<string, { priority?: number; status?: string }>();
      let answered = 0;
      let next = 0;
      let killed = false;
      const worker = async () => {
        while (!killed && next < JOBS) {
          const i = next++;
          const jobId = `kill-${i}`;
          const p = await cosCall(cos, sb, {
            method: 'POST',
            path: `/jobs/${jobId}/priority`,
            query: { priority: String(1000 + i) },
          });
          if (!p.ok || killed) break;
          acked.set(jobId, { priority: 1000 + i });
          const r = await cosCall(cos, sb, {
            method: 'POST',
            path: `/jobs/${jobId}/status`,
            query: { requestedJobStatus: 'Ready' },
          });
          if (!r.ok || killed) break;
          acked.get(jobId)!.status = 'Ready';
          answered += 2;
          if (answered >= 200 && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: 6 }, worker));
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
      expect(answered).toBeGreaterThanOrEqual(200);

      // The lock of the killed process is taken over; the seed is not applied over saved state.
      const again = await startSandbox({ dataDir: dir, seed: [], pace: false });
      try {
        const lost: string[] = [];
        for (const [jobId, want] of acked) {
          const job = again.store.get(SCOPE, jobId);
          if (job?.priority !== want.priority || (want.status && job?.status !== want.status))
            lost.push(`${jobId}: ${JSON.stringify(want)} → ${job?.priority}/${job?.status}`);
        }
        expect(lost).toEqual([]);
        expect(again.store.count()).toBe(JOBS);
        expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      } finally {
        await again.close();
      }
      expect((await readdir(dir)).sort()).toEqual([STATE_FILE]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('a temporary file left by a kill mid-compaction is removed, the snapshot it was to replace is used', async () => {
    const first = await startSandbox({ dataDir: dir, seed: SEED, pace: false });
    await first.close();
    await writeFile(join(dir, `${STATE_FILE}.tmp`), '{"format": "jobctl-sandbox/1", "jo');
    const sb = await startSandbox({ dataDir: dir, pace: false });
    try {
      expect(sb.store.count()).toBe(2);
      expect((await readdir(dir)).sort()).toEqual([STATE_FILE, JOURNAL_FILE, 'sandbox.lock'].sort());
    } finally {
      await sb.close();
    }
  });

  it('replays the journal over the snapshot; a torn last line is dropped and reported, other damage refuses', async () => {
    const sb = await startSandbox({ dataDir: dir, seed: SEED, pace: false });
    await cosCall(cosSdk(sb), sb, {
      method: 'POST',
      path: '/jobs/seeded-1/priority',
      query: { priority: '5' },
    });
    await cosCall(cosSdk(sb), sb, {
      method: 'POST',
      path: '/jobs/seeded-2/priority',
      query: { priority: '6' },
    });
    // What a kill leaves: snapshot plus journal, lock still there (owned by this live process, so
    // copy the files aside rather than close).
    const journal = await readFile(join(dir, JOURNAL_FILE), 'utf8');
    const snapshot = await readFile(join(dir, STATE_FILE), 'utf8');
    await sb.close();
    const lines = journal.split('\n');
    expect(lines).toHaveLength(4); // head, two changes, and the empty string after the last newline

    const warnings: string[] = [];
    const restart = async (journalText: string) => {
      await writeFile(join(dir, STATE_FILE), snapshot);
      await writeFile(join(dir, JOURNAL_FILE), journalText);
      return startSandbox({ dataDir: dir, pace: false, warn: (m) => warnings.push(m) });
    };
    const whole = await restart(journal);
    expect(whole.store.get(SCOPE, 'seeded-2')!.priority).toBe(6);
    await whole.close();

    const torn = await restart(`${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 30)}`);
    expect(torn.store.get(SCOPE, 'seeded-1')!.priority).toBe(5);
    expect(torn.store.get(SCOPE, 'seeded-2')!.priority).toBe(10);
    await torn.close();
    expect(warnings).toEqual([expect.stringMatching(/dropped the journal's last line/)]);

    await expect(restart(`${lines[0]}\n${lines[1]!.slice(0, 30)}\n${lines[2]}\n`)).rejects.toThrow(
      new RegExp(`${JOURNAL_FILE.replace('.', '\\.')}:2: not a journal line`),
    );
    await expect(restart('\u0000\u00ff garbage \n more\n')).rejects.toThrow(/sandbox\.jsonl:1: not a/);
  });
});
