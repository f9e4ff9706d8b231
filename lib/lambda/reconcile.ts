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
import { ProviderError } from '../providers/errors';
import type { ProviderRegistry } from '../providers/index';
import type { Target } from '../providers/types';
import { deadlinesOf, type RemainingTime, toRequestMessage } from './batch';
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
    for (const j of page.value.jobs) if (!TERMINAL.has(j.status)) jobs.push(j as PlanJob);
    nextToken = page.value.nextToken ?? undefined;
  } while (nextToken);
  return { jobs, pages };
}

export interface Observation {
  jobsByTarget: Map<string, PlanJob[]>;
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
  const out: Observation = { jobsByTarget: new Map(), targets: [], unlisted: [] };
  const maxPages = deps.maxPages ?? DEFAULT_MAX_PAGES;
  await Promise.all(
    [...targets].map(async ([key, target]) => {
      try {
        const l = await listAll(target, deps, deadline, maxPages);
        out.jobsByTarget.set(key, l.jobs);
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
  };
  // Plan: a policy on an unlisted target plans nothing (its jobs are absent from the map).
  const p = plan(policies, seen.jobsByTarget, tickMs, { allows: deps.allowlist.allows });

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
  const finished = now();
  report.finishedAt = new Date(finished).toISOString();
  report.durationMs = finished - started;
  await deps.publisher.publish(report, hardDeadline);
  return { report, plan: p };
}
