/**
 * One reconcile tick: observe (ListJobs once per distinct target, every page), plan (the pure
 * planner), act (each enforce action onto the requests queue as an ordinary transition message,
 * so it is applied, retried, ordered and reported like any other), and publish one report.
 *
 * Never guesses: a target that cannot be listed completely is reported and planned for not at all
 * (a partial list would undercount maxActive); a tick past its deadline stops enqueueing and says so.
 */
import { createHash } from 'node:crypto';
import type { Allowlist } from '../core/allowlist';
import { type Plan, type PlanJob, type PlannedAction, plan, TERMINAL, targetKey } from '../core/planner';
import type { Policy } from '../core/policies';
import { RetriesExhausted, type RetryPolicy, realRetryEnv, withRetry } from '../core/retry';
import type { JobTransition } from '../core/transition';
import type { Verdict } from '../core/verdict';
import { ProviderError } from '../providers/errors';
import type { ProviderRegistry } from '../providers/index';
import type { Job, Target } from '../providers/types';
import { deadlinesOf, type RemainingTime, toRequestMessage } from './batch';
import type { Ledger, LedgerTarget, ObservedJob, WatchedJob } from './ledger';
import type { Publisher } from './publisher';
import type { QueueMessage, SendReport } from './sqs';

export const DEFAULT_PERIOD_MS = 5 * 60_000;
/** 100 pages of 1000: 100,000 jobs on one target before a tick refuses to plan on a partial list. */
export const DEFAULT_MAX_PAGES = 100;
/** Actions, holds and warnings listed per policy in a report (the counts are always complete). */
export const REPORT_LIST_MAX = 50;
const ENQUEUE_SLICE = 100;
const MAX_REASON_BYTES = 256;

export interface ReconcileDeps {
  providers: ProviderRegistry;
  allowlist: Allowlist;
  retry: RetryPolicy;
  publisher: Publisher;
  enqueue: (messages: QueueMessage[], deadline?: number) => Promise<SendReport>;
  reserveMs: number;
  now?: () => number;
  periodMs?: number;
  maxPages?: number;
  /** The job ledger: absent, the tick plans and acts but follows no job. */
  ledger?: Ledger | undefined;
  /** DescribeJob calls per tick for the ledger; jobs past it wait for the next tick. */
  describeMax?: number;
}

/** DescribeJob calls one tick makes for the ledger (a Lambda tick of 5 minutes has time for far more). */
export const DEFAULT_DESCRIBE_MAX = 200;
const LEDGER_ERRORS_MAX = 20;

/** What the ledger did in one tick. */
export interface LedgerTickReport {
  /** false: the ledger could not be read or written for some target; its jobs wait for a later tick. */
  ok: boolean;
  /** Jobs compared with the ledger (listed, plus those described). */
  seen: number;
  watched: number;
  changes: number;
  /** `settled` messages published (first publication or a republish of a pending one). */
  settled: number;
  /** Of those, per verdict. */
  verdicts: Partial<Record<Verdict, number>>;
  /** Watched jobs that no longer exist (NoSuchJob), closed with what was last known. */
  closed: number;
  /** DescribeJob calls, and jobs that needed one but waited for the next tick (describeMax). */
  described: number;
  deferred: number;
  readRequests: number;
  writeRequests: number;
  conditionalLosses: number;
  errors: string[];
}

export interface PolicyReport {
  name: string;
  mode: 'enforce' | 'report';
  matched: number;
  actions: number;
  holds: number;
  warnings: number;
  /** The first REPORT_LIST_MAX of each, for a person reading the report. */
  actionList: {
    jobId: string;
    verb: string;
    requestedJobStatus?: string;
    priority?: number;
    reason: string;
    id: string;
    enqueued: boolean;
  }[];
  holdList: { jobId: string; status: string; reason: string }[];
  warningList: string[];
}

export interface ReconcileReport {
  type: 'reconcile';
  id: string;
  tickTime: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  targets: { key: string; jobs: number; pages: number }[];
  /** Targets that could not be listed: skipped, never guessed about. */
  unlisted: { key: string; code: string; message: string }[];
  policies: PolicyReport[];
  enqueued: number;
  failed: number;
  /** Enforce actions not put on the queue because the tick ran out of time. */
  notEnqueued: number;
  stoppedAtDeadline: boolean;
  /** null when no ledger is configured. */
  ledger: LedgerTickReport | null;
}

export interface TickOptions {
  /** The scheduled time of the tick (EventBridge `<aws.scheduler.scheduled-time>`); default now. */
  tickTime?: string | undefined;
}

const utf8 = new TextEncoder();
function cutBytes(s: string, max: number): string {
  if (utf8.encode(s).length <= max) return s;
  let out = '';
  for (const ch of s) {
    if (utf8.encode(`${out}${ch}…`).length > max) break;
    out += ch;
  }
  return `${out}…`;
}

/** `reconcile/<policy>/<tick>/<jobId>/<verb>`, shortened with a hash only if it exceeds 128 characters. */
export function actionId(policy: string, tick: string, jobId: string, verb: string): string {
  const id = `reconcile/${policy}/${tick}/${jobId}/${verb}`;
  if (id.length <= 128) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 12);
  return `${id.slice(0, 128 - hash.length - 1)}~${hash}`;
}

export function toTransition(a: PlannedAction, tick: string, notAfter: string): JobTransition {
  const t = a.target;
  const base = {
    id: actionId(a.policy, tick, a.jobId, a.verb),
    provider: t.provider,
    region: t.region,
    ...(t.account !== undefined ? { account: t.account } : {}),
    ...(t.appId !== undefined ? { appId: t.appId } : {}),
    jobId: a.jobId,
    notAfter,
    requestedAt: tick,
  };
  return a.action === 'UpdateJobStatus'
    ? {
        ...base,
        action: 'UpdateJobStatus',
        requestedJobStatus: a.requestedJobStatus!,
        statusUpdateReason: cutBytes(`jobctl policy ${a.policy}: ${a.reason}`, MAX_REASON_BYTES),
      }
    : { ...base, action: 'UpdateJobPriority', priority: a.priority! };
}

const secondIso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

interface Listing {
  jobs: PlanJob[];
  /** Every listed job, finished ones included: the ledger's sweep. */
  all: Job[];
  pages: number;
}

/** Every page of one target's live jobs, bounded in pages and by the deadline. */
async function listAll(
  target: Target,
  deps: Pick<ReconcileDeps, 'providers' | 'retry'>,
  deadline: number,
  maxPages: number,
): Promise<Listing> {
  const provider = await deps.providers.get(target.provider);
  const jobs: PlanJob[] = [];
  const all: Job[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    if (pages >= maxPages)
      throw new ProviderError({
        kind: 'invalid',
        code: 'TooManyPages',
        message: `more than ${maxPages} pages of jobs; not planned on a partial list`,
      });
    const page = await withRetry(
      // No status filter: COS filters on one status per request, so asking for the ten unfinished
      // ones would cost ten sweeps; finished jobs are dropped here instead.
      (timeoutMs) => provider.list(target, { maxResults: 1000, nextToken }, { timeoutMs }),
      deps.retry,
      realRetryEnv,
      { deadline },
    );
    pages++;
    // Progress is read where the provider's list carries it (see the report for which do).
    for (const j of page.value.jobs) {
      all.push(j);
      if (!TERMINAL.has(j.status)) jobs.push(j as PlanJob);
    }
    nextToken = page.value.nextToken ?? undefined;
  } while (nextToken);
  return { jobs, all, pages };
}

export interface Observation {
  jobsByTarget: Map<string, PlanJob[]>;
  /** Per listed target: the target and all its listed jobs, finished ones included. */
  listed: Map<string, { target: Target; all: Job[] }>;
  targets: { key: string; jobs: number; pages: number }[];
  unlisted: { key: string; code: string; message: string }[];
}

/**
 * ListJobs for each distinct allowed target of the policies, once, whatever the number of policies
 * on it (read-only: `jobctl plan` observes the same way). A target outside the allowlist is not
 * listed at all; the planner warns about its policies.
 */
export async function observe(
  policies: readonly Policy[],
  deps: Pick<ReconcileDeps, 'providers' | 'allowlist' | 'retry' | 'maxPages'>,
  deadline: number,
): Promise<Observation> {
  const targets = new Map<string, Target>();
  for (const p of policies) if (deps.allowlist.allows(p.target)) targets.set(targetKey(p.target), p.target);
  const out: Observation = { jobsByTarget: new Map(), listed: new Map(), targets: [], unlisted: [] };
  const maxPages = deps.maxPages ?? DEFAULT_MAX_PAGES;
  await Promise.all(
    [...targets].map(async ([key, target]) => {
      try {
        const l = await listAll(target, deps, deadline, maxPages);
        out.jobsByTarget.set(key, l.jobs);
        out.listed.set(key, { target, all: l.all });
        out.targets.push({ key, jobs: l.jobs.length, pages: l.pages });
      } catch (e) {
        const src = e instanceof RetriesExhausted ? e.last : e;
        out.unlisted.push({
          key,
          code: src instanceof ProviderError ? src.code : 'InternalError',
          message: String((src as Error)?.message ?? src).slice(0, 300),
        });
      }
    }),
  );
  out.targets.sort((a, b) => (a.key < b.key ? -1 : 1));
  out.unlisted.sort((a, b) => (a.key < b.key ? -1 : 1));
  return out;
}

/** One tick. Resolves with the report it published (or tried to: a publish failure rejects). */
export async function reconcileTick(
  policies: readonly Policy[],
  context: RemainingTime,
  deps: ReconcileDeps,
  opts: TickOptions = {},
): Promise<{ report: ReconcileReport; plan: Plan }> {
  const now = deps.now ?? Date.now;
  const started = now();
  const period = deps.periodMs ?? DEFAULT_PERIOD_MS;
  const parsedTick = opts.tickTime ? Date.parse(opts.tickTime) : Number.NaN;
  const tickMs = Number.isNaN(parsedTick) ? started : parsedTick;
  const tick = secondIso(tickMs);
  const notAfter = secondIso(tickMs + period);
  const { deadline, hardDeadline } = deadlinesOf(context, deps.reserveMs, now);

  // Observe: each distinct target once, whatever the number of policies on it.
  const seen = await observe(policies, deps, deadline);
  const report: ReconcileReport = {
    type: 'reconcile',
    id: `reconcile/${tick}`,
    tickTime: tick,
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    durationMs: 0,
    targets: seen.targets,
    unlisted: seen.unlisted,
    policies: [],
    enqueued: 0,
    failed: 0,
    notEnqueued: 0,
    stoppedAtDeadline: false,
    ledger: null,
  };
  // Plan: a policy on an unlisted target plans nothing (its jobs are absent from the map).
  const owners = new Map<PlanJob, string>();
  const p = plan(policies, seen.jobsByTarget, tickMs, { allows: deps.allowlist.allows, owners });

  // Act: enforce actions only, in slices, while there is time.
  const enforce = p.actions.filter((a) => a.mode === 'enforce');
  const sent = new Set<PlannedAction>();
  for (let i = 0; i < enforce.length; i += ENQUEUE_SLICE) {
    if (now() >= deadline) {
      report.stoppedAtDeadline = true;
      report.notEnqueued = enforce.length - i;
      break;
    }
    const slice = enforce.slice(i, i + ENQUEUE_SLICE);
    const r = await deps.enqueue(
      slice.map((a) => toRequestMessage(toTransition(a, tick, notAfter))),
      hardDeadline,
    );
    for (const k of r.sent) sent.add(slice[k]!);
    report.enqueued += r.sent.length;
    report.failed += r.failed.length;
  }

  for (const pol of policies) {
    const actions = p.actions.filter((a) => a.policy === pol.name);
    const holds = p.holds.filter((h) => h.policy === pol.name);
    const warnings = p.warnings.filter((w) => w.policy === pol.name);
    report.policies.push({
      name: pol.name,
      mode: pol.mode,
      matched: p.matched[pol.name] ?? 0,
      actions: actions.length,
      holds: holds.length,
      warnings: warnings.length,
      actionList: actions.slice(0, REPORT_LIST_MAX).map((a) => ({
        jobId: a.jobId,
        verb: a.verb,
        ...(a.requestedJobStatus ? { requestedJobStatus: a.requestedJobStatus } : {}),
        ...(a.priority !== undefined ? { priority: a.priority } : {}),
        reason: a.reason,
        id: actionId(a.policy, tick, a.jobId, a.verb),
        enqueued: sent.has(a),
      })),
      holdList: holds
        .slice(0, REPORT_LIST_MAX)
        .map((h) => ({ jobId: h.jobId, status: h.status, reason: h.reason })),
      warningList: warnings.slice(0, REPORT_LIST_MAX).map((w) => w.message),
    });
  }
  // Follow: after acting, so a slow or unavailable ledger never holds up a transition.
  if (deps.ledger) report.ledger = await follow(deps.ledger, policies, seen, owners, deps, now, deadline);

  const finished = now();
  report.finishedAt = new Date(finished).toISOString();
  report.durationMs = finished - started;
  await deps.publisher.publish(report, hardDeadline);
  return { report, plan: p };
}

const toObserved = (j: Job): ObservedJob => j;
const ledgerTarget = (t: Target): LedgerTarget => ({
  provider: t.provider,
  region: t.region,
  account: t.account ?? null,
  appId: t.appId ?? null,
});
const asTarget = (t: LedgerTarget): Target =>
  ({
    provider: t.provider,
    region: t.region,
    ...(t.account !== null ? { account: t.account } : {}),
    ...(t.appId !== null ? { appId: t.appId } : {}),
  }) as Target;

class DescribeDeferred extends Error {
  override readonly name = 'DescribeDeferred';
}

/**
 * The ledger's part of a tick: every listed target's sweep compared with the ledger, DescribeJob
 * for the watched jobs the sweep lacks and for those on targets no policy lists, NoSuchJob closed.
 * Every failure is reported and left for a later tick: the ledger writes conditionally, so a
 * repeat adds nothing and a verdict is published once.
 */
async function follow(
  ledger: Ledger,
  policies: readonly Policy[],
  seen: Observation,
  owners: ReadonlyMap<PlanJob, string>,
  deps: Pick<ReconcileDeps, 'providers' | 'allowlist' | 'retry' | 'describeMax'>,
  clock: () => number,
  deadline: number,
): Promise<LedgerTickReport> {
  const now = new Date(clock());
  const r: LedgerTickReport = {
    ok: true,
    seen: 0,
    watched: 0,
    changes: 0,
    settled: 0,
    verdicts: {},
    closed: 0,
    described: 0,
    deferred: 0,
    readRequests: 0,
    writeRequests: 0,
    conditionalLosses: 0,
    errors: [],
  };
  const error = (what: string) => {
    r.ok = false;
    if (r.errors.length < LEDGER_ERRORS_MAX) r.errors.push(what.slice(0, 300));
  };
  ledger.resetCounters();
  let budget = deps.describeMax ?? DEFAULT_DESCRIBE_MAX;
  // One DescribeJob per job per tick: the verdict's own describe reuses the answer.
  const answers = new Map<string, Promise<ObservedJob>>();
  const describeIn = (t: Target) => (jobId: string) => {
    const key = `${targetKey(t)}#${jobId}`;
    let a = answers.get(key);
    if (!a) {
      if (budget <= 0 || clock() >= deadline) {
        r.deferred++;
        return Promise.reject(new DescribeDeferred(`${jobId}: DescribeJob deferred to the next tick`));
      }
      budget--;
      r.described++;
      a = (async () => {
        const provider = await deps.providers.get(t.provider);
        const d = await withRetry(
          (timeoutMs) => provider.describe(t, jobId, { timeoutMs }),
          deps.retry,
          realRetryEnv,
          {
            deadline,
          },
        );
        return toObserved(d.value);
      })();
      answers.set(key, a);
    }
    return a;
  };
  const absorb = (res: Awaited<ReturnType<Ledger['observe']>>, where: string) => {
    r.seen += res.seen;
    r.watched += res.watched;
    r.changes += res.changes;
    r.settled += res.published.length;
    for (const m of res.published) r.verdicts[m.verdict] = (r.verdicts[m.verdict] ?? 0) + 1;
    for (const e of res.errors) if (!e.includes('DescribeDeferred')) error(`${where}: ${e}`);
  };

  /** DescribeJob each of `jobs`, close the vanished, compare the rest with the ledger. */
  const followByKey = async (t: Target, jobs: readonly WatchedJob[], where: string) => {
    const describe = describeIn(t);
    const found: ObservedJob[] = [];
    for (const w of jobs) {
      try {
        found.push(await describe(w.jobId));
      } catch (e) {
        if (e instanceof DescribeDeferred) continue;
        const src = e instanceof RetriesExhausted ? e.last : e;
        if (src instanceof ProviderError && src.kind === 'not-found') {
          try {
            if (await ledger.closeJob(w.target, w.jobId, src.code, now)) r.closed++;
          } catch (c) {
            error(`${where} ${w.jobId}: close: ${(c as Error).message}`);
          }
        } else error(`${where} ${w.jobId}: DescribeJob: ${(src as Error)?.message ?? src}`);
      }
    }
    if (found.length > 0)
      absorb(await ledger.observe(ledgerTarget(t), found, now, { describe, sweep: false }), where);
  };

  for (const [key, { target, all }] of seen.listed) {
    if (clock() >= deadline) {
      error(`${key}: not followed, the tick ran out of time`);
      break;
    }
    try {
      const res = await ledger.observe(ledgerTarget(target), all, now, {
        sweep: true,
        policyOf: (j) => owners.get(j as PlanJob),
        describe: describeIn(target),
      });
      absorb(res, key);
      if (res.missing.length > 0) await followByKey(target, res.missing, key);
    } catch (e) {
      error(`${key}: ${(e as Error).message}`);
    }
  }

  // Watched jobs on targets no policy names (jobs jobctl transitioned there). A policy target
  // that could not be listed counts as inside: its jobs wait rather than cost a DescribeJob each.
  try {
    const outside = await ledger.watchedOutside(policies.map((p) => ledgerTarget(p.target)));
    const byTarget = new Map<string, { target: Target; jobs: WatchedJob[] }>();
    for (const w of outside) {
      const t = asTarget(w.target);
      if (!deps.allowlist.allows(t)) continue;
      const k = targetKey(t);
      const entry = byTarget.get(k) ?? { target: t, jobs: [] };
      entry.jobs.push(w);
      byTarget.set(k, entry);
    }
    for (const [k, { target, jobs }] of byTarget) await followByKey(target, jobs, k);
  } catch (e) {
    error(`watched jobs outside the policies' targets: ${(e as Error).message}`);
  }

  // Verdicts left pending by an earlier publish failure are republished by the sweep above.
  try {
    await ledger.flushBacklog();
  } catch (e) {
    error(`outcome backlog: ${(e as Error).message}`);
  }
  r.readRequests = ledger.counters.readRequests;
  r.writeRequests = ledger.counters.writeRequests;
  r.conditionalLosses = ledger.counters.conditionalLosses;
  return r;
}
