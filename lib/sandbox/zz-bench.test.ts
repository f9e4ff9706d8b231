import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { startSandbox } from './server';
import { cosCall, cosSdk, EXAMPLE } from './testkit';

it('throughput', async () => {
  for (const withDir of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    const JOBS = 20000;
    const seed = Array.from({ length: JOBS }, (_, i) => ({
      provider: 'cos' as const,
      appId: EXAMPLE.cos.appId,
      jobId: `b-${i}`,
      status: 'Suspended' as const,
    }));
    const sb = await startSandbox({ dataDir: withDir ? dir : undefined, seed, pace: false });
    const cos = cosSdk(sb);
    const N = 3000;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < N) {
          const i = next++;
          await cosCall(cos, sb, {
            method: 'POST',
            path: `/jobs/b-${i % JOBS}/priority`,
            query: { priority: String(i) },
          });
        }
      }),
    );
    const s = (performance.now() - t0) / 1000;
    console.log(
      `RESULT dataDir=${withDir} jobs=${JOBS} ${N} updates in ${s.toFixed(2)} s = ${(N / s).toFixed(0)}/s`,
    );
    await sb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
