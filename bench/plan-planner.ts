/**
 * Child process of bench/plan.ts: the planner alone over N jobs (default 100,000) on 3 targets
 * under 5 policies, in a fresh process so that its peak RSS (VmHWM) is the planner's and its
 * input's, not the benchmark runner's. Prints one JSON line: {"ms": [...], "peakRssMb", "actions", "holds"}.
 */
import { readFile } from 'node:fs/promises';
import { type PlanJob, plan, targetKey } from '../lib/core/planner';
import { parsePolicies } from '../lib/core/policies';
import { mulberry32 } from '../lib/local/sandbox/faults';

const n = Number(process.argv[2] ?? 100_000);
const repeats = Number(process.argv[3] ?? 3);
const STATUSES = [
  'Suspended',
  'Suspended',
  'Suspended',
  'Ready',
  'Active',
  'Active',
  'Paused',
  'Complete',
  'Failed',
  'Cancelled',
];

const text = await readFile(new URL('../policies.yml', import.meta.url), 'utf8');
const parsed = parsePolicies(text);
if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
const policies = parsed.policies;
const targets = [...new Map(policies.map((p) => [targetKey(p.target), p.target])).values()];

const random = mulberry32(7);
const now = Date.parse('2026-12-07T01:30:00+08:00');
const byTarget = new Map<string, PlanJob[]>(targets.map((t) => [targetKey(t), []]));
const keys = [...byTarget.keys()];
for (let i = 0; i < n; i++) {
  const status = STATUSES[Math.floor(random() * STATUSES.length)]!;
  const total = 10_000;
  const failed = Math.floor(random() * 800);
  byTarget.get(keys[i % keys.length]!)!.push({
    jobId: `job-${i.toString(36).padStart(8, '0')}`,
    status,
    priority: Math.floor(random() * 100),
    description: `${random() < 0.7 ? 'nightly-' : 'bulk-'}${i}`,
    creationTime: new Date(now - Math.floor(random() * 20 * 86_400_000)).toISOString(),
    progress: { total, succeeded: Math.floor(random() * (total - failed)), failed },
  });
}

const ms: number[] = [];
let last: ReturnType<typeof plan> | undefined;
for (let r = 0; r < repeats; r++) {
  const t0 = performance.now();
  last = plan(policies, byTarget, now);
  ms.push(performance.now() - t0);
}
const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
process.stdout.write(
  `${JSON.stringify({ ms, peakRssMb: kb ? Number(kb[1]) / 1024 : Number.NaN, actions: last?.actions.length, holds: last?.holds.length })}\n`,
);
