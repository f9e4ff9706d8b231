/**
 * The planner: policies + the jobs as listed + a time → what to change, what to leave and why.
 * Pure and synchronous (no clock, no I/O), so the reconcile tick, `jobctl plan` and the tests all
 * run the very same decisions, and a plan can be computed for any instant (`--at`).
 *
 * Rules, in the order they apply to each job a policy governs:
 * 1. terminal jobs (Complete, Cancelled, Failed) are never matched, so never acted on;
 * 2. cancel guards, before anything else (a job being cancelled is not also confirmed);
 * 3. confirm (Suspended → Ready; OSS also Preparing → Ready, which only OSS documents), highest
 *    priority first, then the oldest, while fewer than `maxActive` are Ready/Active/Pausing/Paused;
 * 4. desired priority, only where the job's status still accepts a priority change.
 * A job matched by several policies is governed by the first in file order; the others warn.
 */
import { RULES } from '../providers/rules';
import type { ProviderName, Target } from '../providers/types';
import { DAYS, type Policy, type Window } from './policies';
import { instantOf, offsetMs, type WallTime, wallMs, wallTime } from './zone';

/** A job as ListJobs gives it; `progress` may be missing where a provider's list omits it. */
export interface PlanJob {
  jobId: string;
  status: string;
  priority: number | null;
  description: string | null;
  /** ISO 8601; null when the provider's list does not carry it (age-based rules then do not apply). */
  creationTime: string | null;
  progress?: { total: number; succeeded: number; failed: number } | null | undefined;
}

export type Verb = 'confirm' | 'cancel' | 'priority';

export interface PlannedAction {
  policy: string;
  mode: 'enforce' | 'report';
  target: Target;
  jobId: string;
  /** The transition's action, as on the requests queue. */
  action: 'UpdateJobStatus' | 'UpdateJobPriority';
  /** Short name for ids and tables. */
  verb: Verb;
  requestedJobStatus?: 'Ready' | 'Cancelled';
  priority?: number;
  reason: string;
  current: { status: string; priority: number | null };
}

export interface Hold {
  policy: string;
  jobId: string;
  status: string;
  reason: string;
}

export type WarningKind =
  | 'overlap'
  | 'auto-failure'
  | 'not-allowed'
  | 'progress-unknown'
  | 'creation-unknown';

export interface PlanWarning {
  kind: WarningKind;
  policy: string;
  jobId?: string;
  message: string;
}

export interface Plan {
  at: string;
  actions: PlannedAction[];
  holds: Hold[];
  warnings: PlanWarning[];
  /** Per policy, in file order: how many live jobs it governs. */
  matched: Record<string, number>;
}

export interface PlanOptions {
  /** JOBCTL_ALLOWED_TARGETS: a policy aimed elsewhere plans nothing and warns. */
  allows?: (t: Target) => boolean;
  /** Days a provider lets a job stay Suspended before failing it itself. */
  autoFailureDays?: Partial<Record<ProviderName, number>>;
  /** Filled with each governed job (as passed in) → its policy: the ledger watches these. */
  owners?: Map<PlanJob, string>;
}

/** OSS fails a job left Suspended for 14 days (the issue's documented figure); COS and S3 document none we rely on. */
export const AUTO_FAILURE_DAYS: Partial<Record<ProviderName, number>> = { oss: 14 };

export const TERMINAL = new Set(['Complete', 'Cancelled', 'Failed']);
/** What maxActive counts. */
export const RUNNING = new Set(['Ready', 'Active', 'Pausing', 'Paused']);
/** Statuses that still accept a priority change (not finished, not already ending). */
const PRIORITY_OK = new Set(['New', 'Preparing', 'Suspended', 'Ready', 'Active', 'Pausing', 'Paused']);
/** Cancel is refused once a job is already ending. */
const CANCEL_OK = new Set(['New', 'Preparing', 'Suspended', 'Ready', 'Active', 'Pausing', 'Paused']);

/** One key per target: jobs are grouped by it (`cos#100000000001#ap-guangzhou#1250000000`). */
export const targetKey = (t: Target) => `${t.provider}#${t.account ?? '-'}#${t.region}#${t.appId ?? '-'}`;

// ── windows ─────────────────────────────────────────────────────────────────────────────────

export interface WindowState {
  open: boolean;
  /** When open: when it closes; when closed: when it next opens (null: never within 8 days). */
  next: number | null;
}

const addDays = (w: WallTime, n: number): WallTime => {
  const d = new Date(wallMs({ ...w, hour: 0, minute: 0, second: 0 }) + n * 86_400_000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: 0,
    minute: 0,
    second: 0,
  };
};
const at = (d: WallTime, minutes: number): WallTime => ({
  ...d,
  hour: Math.floor(minutes / 60),
  minute: minutes % 60,
});
const dayOf = (d: WallTime) => DAYS[new Date(wallMs(d)).getUTCDay()]!;

/** The window's openings [open, close) around `now`: yesterday's may still be open (wrapping midnight). */
export function windowState(w: Window, now: number): WindowState {
  const today = wallTime(now, w.timezone);
  const wraps = w.end <= w.start;
  for (let i = -1; i <= 8; i++) {
    const d = addDays(today, i);
    if (!w.days.includes(dayOf(d))) continue;
    const open = instantOf(at(d, w.start), w.timezone);
    const close = instantOf(at(wraps ? addDays(d, 1) : d, w.end), w.timezone);
    if (now >= open && now < close) return { open: true, next: close };
    if (open > now) return { open: false, next: open };
  }
  return { open: false, next: null };
}

/** `2026-12-07T01:00+08:00`: the local time in the window's zone, with its offset. */
export function localIso(instant: number, timezone: string): string {
  const offMs = cachedOffset(instant, timezone);
  const d = new Date(instant + offMs);
  const w = {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
  };
  const off = Math.round(offMs / 60_000);
  const p = (n: number) => String(n).padStart(2, '0');
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${w.year}-${p(w.month)}-${p(w.day)}T${p(w.hour)}:${p(w.minute)}${sign}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

// Zones change offset only on quarter-hour boundaries, so one lookup serves a whole quarter hour:
// a plan that names thousands of instants asks Intl a few hundred times, not thousands.
const QUARTER_MS = 900_000;
const offsets = new Map<string, number>();
function cachedOffset(instant: number, timezone: string): number {
  const key = `${timezone}|${Math.floor(instant / QUARTER_MS)}`;
  let off = offsets.get(key);
  if (off === undefined) {
    if (offsets.size >= 10_000) offsets.clear();
    off = offsetMs(Math.floor(instant / QUARTER_MS) * QUARTER_MS, timezone);
    offsets.set(key, off);
  }
  return off;
}

const describeWindow = (w: Window) =>
  `window ${w.startText}–${w.endText} ${w.timezone}${w.days.length < 7 ? ` ${w.days.join(',')}` : ''}`;

// ── figures ─────────────────────────────────────────────────────────────────────────────────

const grouped = new Intl.NumberFormat('en-US');
const n = (x: number) => grouped.format(x);
const pct = (r: number) => `${Number((r * 100).toFixed(4))}%`;
function duration(ms: number): string {
  const m = Math.floor(ms / 60_000);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const mm = m % 60;
  return [d ? `${d}d` : '', h ? `${h}h` : '', mm || (!d && !h) ? `${mm}m` : ''].filter(Boolean).join(' ');
}

// ── the plan ────────────────────────────────────────────────────────────────────────────────

function matches(p: Policy, job: PlanJob, now: number): boolean {
  if (
    p.match.descriptionPrefix !== undefined &&
    !(job.description ?? '').startsWith(p.match.descriptionPrefix)
  )
    return false;
  if (p.match.olderThanMinutes !== undefined) {
    const created = createdMs(job);
    // Unknown age never satisfies an age condition: acting on a guess could confirm a job too early.
    if (Number.isNaN(created) || now - created < p.match.olderThanMinutes * 60_000) return false;
  }
  return true;
}

// Parsed once per job however many policies and comparisons look at it.
const createdCache = new WeakMap<PlanJob, number>();
function createdMs(j: PlanJob): number {
  let t = createdCache.get(j);
  if (t === undefined) {
    t = j.creationTime ? Date.parse(j.creationTime) : Number.NaN;
    createdCache.set(j, t);
  }
  return t;
}

/** Highest priority first, then oldest, then id: a total order, so plans are deterministic. */
function admissionOrder(a: PlanJob, b: PlanJob): number {
  const pa = a.priority ?? -1;
  const pb = b.priority ?? -1;
  if (pa !== pb) return pb - pa;
  const ca = createdMs(a);
  const cb = createdMs(b);
  const ka = Number.isNaN(ca) ? Number.POSITIVE_INFINITY : ca;
  const kb = Number.isNaN(cb) ? Number.POSITIVE_INFINITY : cb;
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0;
}

function cancelReason(p: Policy, job: PlanJob, now: number, warn: (w: PlanWarning) => void): string | null {
  const c = p.cancel;
  if (!c || !CANCEL_OK.has(job.status)) return null;
  if (c.failedRatioAbove !== undefined && job.status === 'Active') {
    const pr = job.progress;
    if (!pr) {
      warn({
        kind: 'progress-unknown',
        policy: p.name,
        jobId: job.jobId,
        message: `${job.jobId}: the provider's list gave no task counts, so failedRatioAbove is not evaluated`,
      });
    } else {
      const finished = pr.succeeded + pr.failed;
      const after = c.afterTasks ?? 1;
      if (finished >= after && finished > 0 && pr.failed / finished > c.failedRatioAbove)
        return `failed ${n(pr.failed)} of ${n(finished)} finished tasks (${(
          (pr.failed / finished) * 100
        ).toFixed(
          1,
        )}%) > ${pct(c.failedRatioAbove)}${c.afterTasks !== undefined ? ` (after ${n(c.afterTasks)} tasks)` : ''}`;
    }
  }
  const created = createdMs(job);
  const age = now - created;
  if (c.activeLongerThanMinutes !== undefined && job.status === 'Active' && !Number.isNaN(created)) {
    if (age > c.activeLongerThanMinutes * 60_000)
      return `Active ${duration(age)} since creation > activeLongerThanMinutes ${n(c.activeLongerThanMinutes)}`;
  }
  if (c.suspendedLongerThanMinutes !== undefined && job.status === 'Suspended' && !Number.isNaN(created)) {
    if (age > c.suspendedLongerThanMinutes * 60_000)
      return `Suspended ${duration(age)} since creation > suspendedLongerThanMinutes ${n(c.suspendedLongerThanMinutes)}`;
  }
  return null;
}

/**
 * What every policy would do at `now` to the jobs as listed. `jobsByTarget` is keyed by
 * `targetKey`; a target absent from it (not listed) plans nothing.
 */
export function plan(
  policies: readonly Policy[],
  jobsByTarget: ReadonlyMap<string, readonly PlanJob[]>,
  now: number,
  opts: PlanOptions = {},
): Plan {
  const autoFailure = opts.autoFailureDays ?? AUTO_FAILURE_DAYS;
  const out: Plan = { at: new Date(now).toISOString(), actions: [], holds: [], warnings: [], matched: {} };
  const warn = (w: PlanWarning) => out.warnings.push(w);
  // Thousands of jobs share a handful of reasons: one (flat) string each, not one per job.
  const reasons = new Map<string, string>();
  const intern = (r: string) => {
    const known = reasons.get(r);
    if (known !== undefined) return known;
    reasons.set(r, r);
    return r;
  };
  /** Job (as listed: one object per target and job) → the policy that governs it. */
  const owner = opts.owners ?? new Map<PlanJob, string>();

  for (const p of policies) {
    out.matched[p.name] = 0;
    const key = targetKey(p.target);
    const jobs = jobsByTarget.get(key) ?? [];
    const governed: PlanJob[] = [];
    for (const job of jobs) {
      if (TERMINAL.has(job.status) || !matches(p, job, now)) continue;
      const first = owner.get(job);
      if (first !== undefined) {
        warn({
          kind: 'overlap',
          policy: p.name,
          jobId: job.jobId,
          message: `${job.jobId} is matched by ${first} and ${p.name}; ${first} (first in the file) governs`,
        });
        continue;
      }
      owner.set(job, p.name);
      governed.push(job);
    }
    out.matched[p.name] = governed.length;

    if (opts.allows && !opts.allows(p.target)) {
      warn({
        kind: 'not-allowed',
        policy: p.name,
        message: `${p.name}: target ${key} is outside JOBCTL_ALLOWED_TARGETS; it is not listed and nothing is planned for it`,
      });
      for (const job of governed)
        out.holds.push({
          policy: p.name,
          jobId: job.jobId,
          status: job.status,
          reason: 'target outside JOBCTL_ALLOWED_TARGETS',
        });
      continue;
    }
    if (!p.enabled) {
      for (const job of governed)
        out.holds.push({
          policy: p.name,
          jobId: job.jobId,
          status: job.status,
          reason: 'policy disabled (enabled: false)',
        });
      continue;
    }

    const ws = p.window ? windowState(p.window, now) : { open: true, next: null };
    const wdesc = p.window ? describeWindow(p.window) : '';
    // One literal of one shape per action: tens of thousands of them must not each cost spreads.
    const act = (job: PlanJob, verb: Verb, reason: string, value: 'Ready' | 'Cancelled' | number) => {
      const status = typeof value === 'string';
      const a: PlannedAction = {
        policy: p.name,
        mode: p.mode,
        target: p.target,
        jobId: job.jobId,
        action: status ? 'UpdateJobStatus' : 'UpdateJobPriority',
        verb,
        reason: intern(reason),
        current: { status: job.status, priority: job.priority },
      };
      if (status) a.requestedJobStatus = value;
      else a.priority = value;
      out.actions.push(a);
    };

    // 1. cancel guards
    const cancelled = new Set<string>();
    for (const job of governed) {
      const why = cancelReason(p, job, now, warn);
      if (why === null) continue;
      cancelled.add(job.jobId);
      act(job, 'cancel', why, 'Cancelled');
    }

    // 2. confirm, by admission order under the cap
    const confirmsFrom: readonly string[] = RULES[p.target.provider].confirmsFrom;
    const confirmable = (j: PlanJob) => confirmsFrom.includes(j.status);
    const candidates = governed.filter((j) => !cancelled.has(j.jobId) && confirmable(j));
    if (p.confirm !== 'never') candidates.sort(admissionOrder);
    for (const job of governed)
      if (job.status === 'Preparing' && !confirmable(job))
        out.holds.push({
          policy: p.name,
          jobId: job.jobId,
          status: job.status,
          reason: `Preparing: ${p.target.provider} accepts a confirm only once the job is Suspended`,
        });
    let running = governed.filter((j) => RUNNING.has(j.status)).length;
    const hold = (job: PlanJob, reason: string) =>
      out.holds.push({ policy: p.name, jobId: job.jobId, status: job.status, reason: intern(reason) });
    const confirmedNow = new Set<string>();
    for (const job of candidates) {
      if (p.confirm === 'never') {
        hold(job, 'confirm: never');
        continue;
      }
      if (p.confirm === 'window' && !ws.open) {
        hold(
          job,
          ws.next === null
            ? `${wdesc} closed; it opens on none of the next 8 days`
            : `window closed until ${localIso(ws.next, p.window!.timezone)}`,
        );
        continue;
      }
      if (p.maxActive !== undefined && running >= p.maxActive) {
        hold(job, `maxActive ${p.maxActive} reached (${running} Ready/Active/Pausing/Paused)`);
        continue;
      }
      const gate = p.confirm === 'always' || !p.window ? `confirm: ${p.confirm}` : `${wdesc} open`;
      const cap = p.maxActive !== undefined ? `; ${running} of maxActive ${p.maxActive} running` : '';
      act(job, 'confirm', `${gate}${cap}`, 'Ready');
      confirmedNow.add(job.jobId);
      running++;
    }

    // 3. desired priority
    const desired = ws.open ? p.priority?.open : p.priority?.closed;
    if (desired !== undefined) {
      const state = p.window ? `${wdesc} ${ws.open ? 'open' : 'closed'}` : 'no window';
      for (const job of governed) {
        if (cancelled.has(job.jobId) || !PRIORITY_OK.has(job.status) || job.priority === desired) continue;
        act(
          job,
          'priority',
          `${state}: priority ${job.priority ?? 'unknown'} → ${desired} (priority.${ws.open ? 'open' : 'closed'})`,
          desired,
        );
      }
    }

    // 4. a Suspended job the provider will fail before this policy would ever confirm it
    const days = autoFailure[p.target.provider];
    if (days !== undefined) {
      for (const job of governed) {
        if (job.status !== 'Suspended' || cancelled.has(job.jobId) || confirmedNow.has(job.jobId)) continue;
        const created = createdMs(job);
        if (Number.isNaN(created)) continue;
        const failsAt = created + days * 86_400_000;
        const nextChance = p.confirm === 'never' ? null : p.confirm === 'always' || ws.open ? now : ws.next;
        if (nextChance !== null && nextChance < failsAt) continue;
        const tz = p.window?.timezone ?? 'UTC';
        warn({
          kind: 'auto-failure',
          policy: p.name,
          jobId: job.jobId,
          message: `${job.jobId}: ${p.target.provider} fails a job Suspended ${days} days, at ${localIso(failsAt, tz)}, ${
            nextChance === null
              ? 'and this policy never confirms it'
              : `before the window opens at ${localIso(nextChance, tz)}`
          }`,
        });
      }
    }
  }
  return out;
}

export interface Verdict {
  policy: string;
  verdict: 'act' | 'hold' | 'in line' | 'governed elsewhere' | 'not matched' | 'not listed' | 'terminal';
  detail: string;
}

/**
 * Every policy's verdict on one job (`jobctl plan --explain`), from the same plan, so the answer
 * can never disagree with what the reconciler does.
 */
export function explain(
  policies: readonly Policy[],
  jobsByTarget: ReadonlyMap<string, readonly PlanJob[]>,
  now: number,
  jobId: string,
  opts: PlanOptions = {},
  computed: Plan = plan(policies, jobsByTarget, now, opts),
): Verdict[] {
  return policies.map((p): Verdict => {
    const v = (verdict: Verdict['verdict'], detail: string): Verdict => ({ policy: p.name, verdict, detail });
    const job = jobsByTarget.get(targetKey(p.target))?.find((j) => j.jobId === jobId);
    if (!job) return v('not listed', `no such job among ${targetKey(p.target)}'s unfinished jobs`);
    if (TERMINAL.has(job.status)) return v('terminal', `${job.status}: finished jobs are never acted on`);
    const acts = computed.actions.filter((a) => a.policy === p.name && a.jobId === jobId);
    const hold = computed.holds.find((h) => h.policy === p.name && h.jobId === jobId);
    if (acts.length > 0)
      return v(
        'act',
        [
          ...acts.map(
            (a) => `${a.verb}${a.mode === 'report' ? ' (report mode: not sent)' : ''}: ${a.reason}`,
          ),
          ...(hold ? [`held: ${hold.reason}`] : []),
        ].join('; '),
      );
    if (hold) return v('hold', hold.reason);
    const overlap = computed.warnings.find(
      (w) => w.kind === 'overlap' && w.policy === p.name && w.jobId === jobId,
    );
    if (overlap) return v('governed elsewhere', overlap.message);
    if (!matches(p, job, now)) {
      const why: string[] = [];
      if (
        p.match.descriptionPrefix !== undefined &&
        !(job.description ?? '').startsWith(p.match.descriptionPrefix)
      )
        why.push(
          `description ${JSON.stringify(job.description ?? '')} does not start with ${JSON.stringify(p.match.descriptionPrefix)}`,
        );
      if (p.match.olderThanMinutes !== undefined)
        why.push(
          job.creationTime
            ? `created ${duration(Math.max(0, now - createdMs(job)))} ago; olderThanMinutes ${p.match.olderThanMinutes}`
            : 'creation time unknown; olderThanMinutes needs it',
        );
      return v('not matched', why.join('; '));
    }
    return v('in line', `${job.status}, priority ${job.priority ?? 'unknown'}: nothing to change`);
  });
}
