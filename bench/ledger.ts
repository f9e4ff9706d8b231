/**
 * The ledger's cost per reconcile tick (issue 17), on a local dynalite: a tick over 10,000
 * watched jobs where nothing changed (no writes, ≤ 1 read request per 100 jobs), and one where
 * 1,000 of them reached a final status (each: one conditional META write, its history in
 * 25-item batches, the verdict published, the publication marked). Request counts are the
 * ledger's own counters; times are wall clock on this machine, reported, not asserted.
 */

import { createLedger, type ObservedJob, type SettledMessage } from '../lib/lambda/ledger';
import { EXAMPLE_TARGETS } from '../lib/providers/examples';
// TO BE REPLACED by lib/local/dynamo.ts once it lands (same table, created from serverless.yml).
import { createLedgerTable, startLocalDynamo } from '../test/support/ledger';
import { type Benchmark, round, row, spread } from './measure';

const TARGET = EXAMPLE_TARGETS.oss;

export const ledger: Benchmark = {
  name: 'ledger',
  summary:
    'reconcile tick over 10,000 watched jobs: nothing changed, and 1,000 changed (DynamoDB requests, time)',
  async run({ quick, log }) {
    const n = quick ? 2_000 : 10_000;
    const changed = n / 10;
    const repeats = quick ? 2 : 3;
    const local = await startLocalDynamo();
    try {
      const client = local.client();
      await createLedgerTable(client, 'bench-ledger');
      const published: SettledMessage[] = [];
      const l = createLedger({
        client,
        table: 'bench-ledger',
        publish: async (m) => void published.push(m),
        writeConcurrency: 32,
      });
      const jobs: ObservedJob[] = Array.from({ length: n }, (_, i) => ({
        jobId: `bench-${i}`,
        status: 'Active',
        priority: 10,
        description: 'bulk-bench',
        creationTime: '2026-12-01T00:00:00.000Z',
        progress: { total: 1000, succeeded: 10, failed: 0 },
      }));
      const policyOf = () => 'bench';
      let at = Date.UTC(2026, 11, 6, 0, 0);
      const tick = async (js: ObservedJob[]) => {
        l.resetCounters();
        const t0 = performance.now();
        at += 60_000;
        const r = await l.observe(TARGET, js, new Date(at), { policyOf });
        const ms = performance.now() - t0;
        if (r.errors.length > 0) throw new Error(`ledger tick: ${r.errors[0]}`);
        return { ms, reads: l.counters.readRequests, writes: l.counters.writeRequests, r };
      };
      log(`ledger: watching ${n} jobs`);
      const seed = await tick(jobs);
      log(
        `ledger: first sighting of ${n}: ${round(seed.ms / 1000, 1)} s, ${seed.reads} reads, ${seed.writes} writes`,
      );

      const quiet: number[] = [];
      let quietCounts = { reads: 0, writes: 0 };
      for (let i = 0; i < repeats; i++) {
        // Progress moved everywhere, status nowhere: not a change.
        const moved = jobs.map((j) => ({ ...j, progress: { total: 1000, succeeded: 20 + i, failed: 0 } }));
        const q = await tick(moved);
        quiet.push(q.ms / 1000);
        quietCounts = { reads: q.reads, writes: q.writes };
      }
      log(
        `ledger: quiet tick ${n}: ${quietCounts.reads} read requests, ${quietCounts.writes} write requests`,
      );

      const changedTimes: number[] = [];
      let changedCounts = { reads: 0, writes: 0, published: 0 };
      let live = jobs;
      for (let i = 0; i < repeats; i++) {
        const done = new Set(live.slice(0, changed).map((j) => j.jobId));
        const before = published.length;
        const c = await tick(
          live.map((j) =>
            done.has(j.jobId)
              ? { ...j, status: 'Complete', progress: { total: 1000, succeeded: 990, failed: 10 } }
              : j,
          ),
        );
        // The tick's sweep lists live statuses only: a settled job is not listed again.
        live = live.filter((j) => !done.has(j.jobId));
        changedTimes.push(c.ms / 1000);
        if (c.r.lost > 0 || c.r.missing.length > 0)
          throw new Error('ledger tick: unexpected lost or missing jobs');
        changedCounts = { reads: c.reads, writes: c.writes, published: published.length - before };
      }
      log(
        `ledger: tick with ${changed} settled: ${changedCounts.reads} reads, ${changedCounts.writes} writes, ${changedCounts.published} verdicts`,
      );
      return [
        row({
          id: 'ledger.quiet-tick',
          measure: `tick, ${n} watched, nothing changed (${quietCounts.reads} reads, ${quietCounts.writes} writes)`,
          baseline: '—',
          unit: 's',
          value: spread(quiet),
          target: { op: '<=', value: 10 },
          detail: { jobs: n, readRequests: quietCounts.reads, writeRequests: quietCounts.writes },
        }),
        row({
          id: 'ledger.changed-tick',
          measure: `tick, ${n} watched, ${changed} settled (${changedCounts.reads} reads, ${changedCounts.writes} writes)`,
          baseline: '—',
          unit: 's',
          value: spread(changedTimes),
          target: { op: '<=', value: 30 },
          detail: {
            jobs: n,
            changed,
            readRequests: changedCounts.reads,
            writeRequests: changedCounts.writes,
            verdicts: changedCounts.published,
            firstSighting: { seconds: round(seed.ms / 1000, 1), reads: seed.reads, writes: seed.writes },
          },
        }),
      ];
    } finally {
      await local.close();
    }
  },
};
