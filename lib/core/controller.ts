/**
 * What happens to one transition: the policy checks, the provider call with its retries, and
 * the reading of a refusal (already there → `unchanged`, else `rejected`). Every entry point —
 * the SQS function, the schedule's fan-out, `jobctl apply` — comes through here, so they all
 * report the same outcome for the same situation.
 *
 * @example
 * const controller = createController({ providers, allowlist: parseAllowlist(env.JOBCTL_ALLOWED_TARGETS) });
 * const outcome = await controller.handleBody(record.body, { type: 'sqs', messageId }, { id: messageId });
 */
import { createHash } from 'node:crypto';
import { ProviderError } from '../providers/errors';
import type { ProviderRegistry } from '../providers/index';
import type { CallOptions, JobControl, RequestedJobStatus } from '../providers/types';
import type { Allowlist } from './allowlist';
import * as out from './outcome';
import {
  expiredRefusal,
  type Frame,
  type Outcome,
  type Subject,
  type Trigger,
  targetNotAllowed,
} from './outcome';
import { DEFAULT_RETRY, type RetryEnv, type RetryPolicy, realRetryEnv, withRetry } from './retry';
import {
  DEFAULT_SELECT_MAX,
  type JobTransition,
  parseTransitionBody,
  type SelectTransition,
  targetOf,
} from './transition';

/**
 * ListJobs pages one select may read. With 1,000 jobs a page that is a million jobs listed;
 * past it the select is reported truncated, like one that reached its `max`: a provider that
 * hands out fresh tokens for ever must not keep a fan-out listing until its deadline.
 */
export const MAX_LIST_PAGES = 2_000;

/** Statuses that mean a requested status is already reached or on its way. */
const ALREADY: Record<RequestedJobStatus, ReadonlySet<string>> = {
  Ready: new Set(['Ready', 'Active', 'Completing', 'Complete']),
  Cancelled: new Set(['Cancelling', 'Cancelled']),
};

export interface ControllerOptions {
  providers: ProviderRegistry;
  allowlist: Allowlist;
  retry?: Partial<RetryPolicy>;
  /** Clock, jitter and sleep; tests make them deterministic. */
  retryEnv?: RetryEnv;
}

export interface ApplyContext {
  /** Correlation id when the transition has none of its own. */
  id: string;
  /** Absolute time (epoch ms) by which the outcome must be ready: a Lambda's remaining time. */
  deadline?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface Expansion {
  /** Jobs the selector matched on the pages read (may exceed `selected` within the last page). */
  matched: number;
  /** Transitions handed to the sink: at most `max`. */
  selected: number;
  /** More jobs may match than were selected (`max` reached, or the page bound). */
  truncated: boolean;
}

export interface ExpandContext extends ApplyContext {
  /**
   * Time the ListJobs calls of this select may take in all, the sink's time not counted. The
   * queued path is bounded by its function's deadline; `jobctl apply` has none, so it sets this.
   */
  listBudgetMs?: number | undefined;
}

export interface Controller {
  /** One job transition, already validated. Never throws: every failure is an outcome. */
  apply(t: JobTransition, trigger: Trigger, ctx: ApplyContext): Promise<Outcome>;
  /**
   * A selector's jobs as one transition each, streamed: each ListJobs page's matches (filtered,
   * capped by `max`, ids derived as `<id>/<jobId>`) go to `sink` before the next page is read,
   * so memory stays flat whatever the selection's size. The policy checks of `apply` come
   * first: a refusal is thrown as a PolicyRefusal before anything is listed. A page token seen
   * before in the same listing is a malformed answer (ProviderError `RepeatedPageToken`,
   * retryable), never a loop.
   */
  expand(
    t: SelectTransition,
    ctx: ExpandContext,
    sink: (page: JobTransition[]) => Promise<void>,
  ): Promise<Expansion>;
  /** A raw queue body: parse, validate, then apply. Never throws. Select messages are not handled here. */
  handleBody(
    body: string,
    trigger: Trigger,
    ctx: ApplyContext,
  ): Promise<Outcome | { select: SelectTransition }>;
}

export function createController(opts: ControllerOptions): Controller {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
  const env = opts.retryEnv ?? realRetryEnv;
  const iso = () => new Date(env.now()).toISOString();

  async function apply(t: JobTransition, trigger: Trigger, ctx: ApplyContext): Promise<Outcome> {
    const startedAt = iso();
    const subject: Subject = {
      id: t.id ?? ctx.id,
      provider: t.provider,
      region: t.region,
      account: t.account ?? null,
      jobId: t.jobId,
      action: t.action,
    };
    const frame = (): Frame => ({ subject, trigger, startedAt, finishedAt: iso() });

    if (t.notAfter !== undefined && env.now() > Date.parse(t.notAfter))
      return out.expired(frame(), t.notAfter);
    const target = targetOf(t);
    if (!opts.allowlist.allows(target)) return out.fromError(frame(), targetNotAllowed(t));

    let provider: JobControl;
    try {
      provider = await opts.providers.get(t.provider);
    } catch (e) {
      // Configuration (missing keys, unloadable module): the message waits for a fix, then the DLQ.
      return out.failed(frame(), out.errorOf(e, 'ConfigurationError'));
    }

    const limits = { deadline: ctx.deadline, signal: ctx.signal };
    const call = <T>(fn: (o: CallOptions) => Promise<T>) =>
      withRetry((timeoutMs) => fn({ timeoutMs, signal: ctx.signal }), policy, env, limits).then(
        (r) => r.value,
      );
    // `attempts` counts calls of the change itself; reads made to interpret it are not counted.
    let attempts = 0;
    const change = <T>(fn: (o: CallOptions) => Promise<T>) =>
      call((o) => {
        attempts++;
        return fn(o);
      });

    try {
      if (t.action === 'UpdateJobStatus') {
        try {
          const r = await change((o) =>
            provider.updateStatus(target, t.jobId, t.requestedJobStatus, t.statusUpdateReason, o),
          );
          return out.applied(frame(), { status: r.status, attempts });
        } catch (e) {
          // A refusal, or COS's NoSuchJob for a job that has finished (its error table: "指定作业已完成").
          if (!(e instanceof ProviderError) || (e.kind !== 'conflict' && e.kind !== 'not-found')) throw e;
          // A repeat of a change already made is not an error (at-least-once delivery).
          let job: Awaited<ReturnType<JobControl['describe']>>;
          try {
            job = await call((o) => provider.describe(target, t.jobId, o));
          } catch (d) {
            // The job is truly not there: the change's own NoSuchJob is the answer.
            if (e.kind === 'not-found' && d instanceof ProviderError && d.kind === 'not-found')
              return out.rejected(frame(), out.errorOf(e), { attempts });
            throw d;
          }
          if (ALREADY[t.requestedJobStatus].has(job.status))
            return out.unchanged(frame(), { status: job.status, attempts });
          return out.rejected(frame(), out.errorOf(e), { status: job.status, attempts });
        }
      }

      // Priority: read first so that a repeat is reported as `unchanged`, not re-applied.
      try {
        const job = await call((o) => provider.describe(target, t.jobId, o));
        if (job.priority === t.priority)
          return out.unchanged(frame(), { status: job.status, priority: job.priority });
      } catch (e) {
        // A role allowed to update but not to read still gets its change made.
        if (!(e instanceof ProviderError) || e.kind !== 'auth') throw e;
      }
      const r = await change((o) => provider.updatePriority(target, t.jobId, t.priority, o));
      return out.applied(frame(), { priority: r.priority, attempts });
    } catch (e) {
      return out.fromError(frame(), e, { attempts });
    }
  }

  async function expand(
    t: SelectTransition,
    ctx: ExpandContext,
    sink: (page: JobTransition[]) => Promise<void>,
  ): Promise<Expansion> {
    if (t.notAfter !== undefined && env.now() > Date.parse(t.notAfter)) throw expiredRefusal(t.notAfter);
    const target = targetOf(t);
    if (!opts.allowlist.allows(target)) throw targetNotAllowed(t);
    const provider = await opts.providers.get(t.provider);
    const { select, ...rest } = t;
    const max = select.max ?? DEFAULT_SELECT_MAX;
    const createdBefore =
      select.olderThanMinutes === undefined ? undefined : env.now() - select.olderThanMinutes * 60_000;
    const base = t.id ?? ctx.id;
    let matched = 0;
    let selected = 0;
    let listedMs = 0;
    let pages = 0;
    const seen = new Set<string>();
    let nextToken: string | undefined;
    do {
      if (nextToken !== undefined) {
        // A token handed out twice would list the same pages for ever (or until the deadline).
        if (seen.has(nextToken))
          throw new ProviderError({
            kind: 'server',
            code: 'RepeatedPageToken',
            message: `ListJobs returned a page token already followed in this listing (after ${pages} pages)`,
          });
        seen.add(nextToken);
      }
      const listStart = env.now();
      const deadline = Math.min(
        ctx.deadline ?? Number.POSITIVE_INFINITY,
        ctx.listBudgetMs === undefined ? Number.POSITIVE_INFINITY : listStart + ctx.listBudgetMs - listedMs,
      );
      const token = nextToken;
      const page = await withRetry(
        (timeoutMs) =>
          provider.list(
            target,
            { statuses: select.statuses, maxResults: 1000, nextToken: token },
            { timeoutMs, signal: ctx.signal },
          ),
        policy,
        env,
        { deadline: Number.isFinite(deadline) ? deadline : undefined, signal: ctx.signal },
      );
      listedMs += env.now() - listStart;
      pages++;
      const batch: JobTransition[] = [];
      for (const job of page.value.jobs) {
        if (select.descriptionPrefix !== undefined && !job.description?.startsWith(select.descriptionPrefix))
          continue;
        if (createdBefore !== undefined && !(Date.parse(job.creationTime ?? '') <= createdBefore)) continue;
        // A provider that ignores the status filter must not widen the selection.
        if (select.statuses && !select.statuses.includes(job.status as never)) continue;
        matched++;
        if (selected + batch.length < max)
          batch.push({ ...rest, id: derivedId(base, job.jobId), jobId: job.jobId } as JobTransition);
      }
      nextToken = page.value.nextToken ?? undefined;
      if (batch.length > 0) {
        selected += batch.length;
        await sink(batch);
      }
    } while (nextToken && selected < max && pages < MAX_LIST_PAGES);
    return { matched, selected, truncated: matched > selected || nextToken !== undefined };
  }

  async function handleBody(body: string, trigger: Trigger, ctx: ApplyContext) {
    const parsed = parseTransitionBody(body);
    if (!parsed.ok) return invalidOutcome(body, parsed.error, trigger, ctx.id, iso());
    if ('select' in parsed.value) return { select: parsed.value };
    return apply(parsed.value, trigger, ctx);
  }

  return { apply, expand, handleBody };
}

/** `<base>/<jobId>`, kept within the 128 characters an id may have (the base is shortened with a hash). */
export function derivedId(base: string, jobId: string): string {
  const id = `${base}/${jobId}`;
  if (id.length <= 128) return id;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, 128 - jobId.length - 10)}~${hash}/${jobId}`;
}

/** The outcome for a body that is not a valid transition: best-effort echo of what it said. */
export function invalidOutcome(
  body: string,
  error: { field: string; message: string },
  trigger: Trigger,
  fallbackId: string,
  now: string,
): Outcome {
  const echo = echoFields(body);
  const subject: Subject = {
    id: echo.id ?? fallbackId,
    provider: echo.provider ?? null,
    region: echo.region ?? null,
    account: echo.account ?? null,
    jobId: echo.jobId ?? null,
    action: echo.action ?? null,
  };
  return out.invalid({ subject, trigger, startedAt: now, finishedAt: now }, error, body);
}

/** Short string fields of an invalid message, so its outcome can still be correlated. */
function echoFields(
  body: string,
): Partial<Record<'id' | 'provider' | 'region' | 'account' | 'jobId' | 'action', string>> {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return {};
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: Partial<Record<'id' | 'provider' | 'region' | 'account' | 'jobId' | 'action', string>> = {};
  for (const k of ['id', 'provider', 'region', 'account', 'jobId', 'action'] as const) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === 'string' && x.length <= 128 && x.isWellFormed()) out[k] = x;
  }
  return out;
}
