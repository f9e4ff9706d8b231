/**
 * Seeds: the shipped example jobs (`events/sandbox-jobs.json`) and generated sets for benchmarks.
 * A seed file is `{"jobs": [SeedJob, …]}` (or a bare array); it is validated on load so that a
 * typo fails loudly at start-up instead of leaving a job quietly missing.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { JOB_STATUSES, type JobStatus, PROVIDERS } from '../../providers/types';
import { mulberry32 } from './faults';
import { jobIdFromRandom } from './ids';
import { where } from './persistence';
import type { SeedJob } from './types';

/** The seed set shipped with the project, for the example targets of the README and docs/reference.md. */
export const DEFAULT_SEED_FILE = fileURLToPath(new URL('../../../events/sandbox-jobs.json', import.meta.url));

const FIELDS: Record<keyof SeedJob, 'string' | 'number' | 'boolean'> = {
  provider: 'string',
  appId: 'string',
  account: 'string',
  region: 'string',
  jobId: 'string',
  status: 'string',
  priority: 'number',
  description: 'string',
  ageMinutes: 'number',
  creationTime: 'string',
  confirmationRequired: 'boolean',
  statusUpdateReason: 'string',
  totalTasks: 'number',
  tasksSucceeded: 'number',
  tasksFailed: 'number',
  operation: 'string',
};

/** Check one decoded seed entry; the error names the entry and the field. */
export function parseSeedJob(input: unknown, where: string): SeedJob {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new Error(`${where}: must be an object`);
  const o = input as Record<string, unknown>;
  for (const [key, value] of Object.entries(o)) {
    if (key.startsWith('$')) continue; // "$comment" and friends
    const type = FIELDS[key as keyof SeedJob];
    if (!type) throw new Error(`${where}: unknown field ${JSON.stringify(key)}`);
    if (typeof value !== type) throw new Error(`${where}.${key}: must be a ${type}`);
  }
  if (!(PROVIDERS as readonly unknown[]).includes(o.provider))
    throw new Error(`${where}.provider: must be one of ${PROVIDERS.join(', ')}`);
  if (!(JOB_STATUSES as readonly unknown[]).includes(o.status))
    throw new Error(`${where}.status: must be one of ${JOB_STATUSES.join(', ')}`);
  const seed: SeedJob = { provider: o.provider as SeedJob['provider'], status: o.status as JobStatus };
  for (const key of Object.keys(FIELDS) as (keyof SeedJob)[]) {
    if (o[key] !== undefined) (seed as unknown as Record<string, unknown>)[key] = o[key];
  }
  return seed;
}

export function parseSeed(input: unknown, source = 'seed'): SeedJob[] {
  const list = Array.isArray(input)
    ? input
    : typeof input === 'object' && input !== null && Array.isArray((input as { jobs?: unknown }).jobs)
      ? (input as { jobs: unknown[] }).jobs
      : undefined;
  if (!list) throw new Error(`${source}: expected {"jobs": [...]} or an array of jobs`);
  return list.map((j, i) => parseSeedJob(j, `${source}: jobs[${i}]`));
}

export async function loadSeedFile(path: string): Promise<SeedJob[]> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message}${where(text, e as Error)})`);
  }
  return parseSeed(json, path);
}

export type SeedTemplate = Omit<SeedJob, 'jobId' | 'status'> & {
  status?: JobStatus;
  /** PRNG seed for the ids, so a benchmark set is the same every run. */
  seed?: number;
};

/**
 * `n` jobs like `template` for benchmarks: by default Suspended, described `nightly-bench-00001`…,
 * with deterministic ids and creation times a minute apart (oldest first), so listing order and
 * `olderThanMinutes` selectors behave as they would on a real account.
 *
 * @example
 * const jobs = generateJobs(10_000, { provider: 'cos', appId: '1250000000' });
 */
export function generateJobs(n: number, template: SeedTemplate): SeedJob[] {
  const { seed = 1, description = 'nightly-bench-', ...rest } = template;
  const random = mulberry32(seed);
  const width = Math.max(5, String(n).length);
  const jobs: SeedJob[] = [];
  for (let i = 1; i <= n; i++) {
    jobs.push({
      ...rest,
      status: template.status ?? 'Suspended',
      jobId: jobIdFromRandom(template.provider, random),
      description: `${description}${String(i).padStart(width, '0')}`,
      ageMinutes: (template.ageMinutes ?? 60) + (n - i),
    });
  }
  return jobs;
}
