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
import type { Allowlist } from './allowlist';
import {
  errorFromProvider,
  errorFromUnknown,
  type Outcome,
  type OutcomeError,
  type OutcomeKind,
  type Trigger,
  truncateRaw,
} from './outcome';
import { ProviderError } from './providers/errors';
import type { ProviderRegistry } from './providers/index';
import type { CallOptions, JobControl, RequestedJobStatus } from './providers/types';
import {
  DEFAULT_RETRY,
  RetriesExhausted,
  type RetryEnv,
  type RetryPolicy,
  realRetryEnv,
  withRetry,
} from './retry';
import {
  DEFAULT_SELECT_MAX,
  type JobTransition,
  parseTransitionBody,
  type SelectTransition,
  targetOf,
} from './transition';

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
  transitions: JobTransition[];
  matched: number;
  truncated: boolean;
}

export interface Controller {
  /** One job transition, already validated. Never throws: every failure is an outcome. */
  apply(t: JobTransition, trigger: Trigger, ctx: ApplyContext): Promise<Outcome>;
  /**
   * A selector's jobs as one transition each (ListJobs over every page, filtered, capped by
   * `max`), with ids derived as `<id>/<jobId>`. The same policy checks as `apply` come first; a
   * refusal is thrown as a ProviderError (TargetNotAllowed, Expired) before anything is listed.
   */
  expand(t: SelectTransition, ctx: ApplyContext): Promise<Expansion>;
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
    const base = {
      id: t.id ?? ctx.id,
      provider: t.provider,
      region: t.region,
      account: t.account ?? null,
      jobId: t.jobId,
      action: t.action,
    };
    const finish = (
      outcome: OutcomeKind,
      fields: {
        status?: string | null;
        priority?: number | null;
        error?: OutcomeError | null;
        attempts?: number;
      },
    ): Outcome => {
      // The contract's field order, so that outcome lines read the same everywhere.
      return {
        ...base,
        outcome,
        status: fields.status ?? null,
        priority: fields.priority ?? null,
        error: fields.error ?? null,
        attempts: fields.attempts ?? 0,
        trigger,
        startedAt,
        finishedAt: iso(),
      };
    };

    if (t.notAfter !== undefined && env.now() > Date.parse(t.notAfter))
      return finish('expired', {
        error: {
          code: 'Expired',
          message: `handled after notAfter ${t.notAfter}`,
          httpStatus: null,
          requestId: null,
        },
      });
    const target = targetOf(t);
    if (!opts.allowlist.allows(target))
      return finish('rejected', {
        error: {
          code: 'TargetNotAllowed',
          message: `${t.provider}:${t.account ?? ''}@${t.region} is not in JOBCTL_ALLOWED_TARGETS`,
          httpStatus: null,
          requestId: null,
        },
      });

    let provider: JobControl;
    try {
      provider = await opts.providers.get(t.provider);
    } catch (e) {
      // Configuration (missing keys, unloadable module): the message waits for a fix, then the DLQ.
      return finish('failed', { error: errorFromUnknown(e, 'ConfigurationError') });
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
          return finish('applied', { status: r.status, attempts });
        } catch (e) {
          if (!(e instanceof ProviderError) || e.kind !== 'conflict') throw e;
          // Refused: a repeat of a change already made is not an error (at-least-once delivery).
          const job = await call((o) => provider.describe(target, t.jobId, o));
          if (ALREADY[t.requestedJobStatus].has(job.status))
            return finish('unchanged', { status: job.status, attempts });
          return finish('rejected', { status: job.status, error: errorFromProvider(e), attempts });
        }
      }

      // Priority: read first so that a repeat is reported as `unchanged`, not re-applied.
      try {
        const job = await call((o) => provider.describe(target, t.jobId, o));
        if (job.priority === t.priority)
          return finish('unchanged', { status: job.status, priority: job.priority });
      } catch (e) {
        // A role allowed to update but not to read still gets its change made.
        if (!(e instanceof ProviderError) || e.kind !== 'auth') throw e;
      }
      const r = await change((o) => provider.updatePriority(target, t.jobId, t.priority, o));
      return finish('applied', { priority: r.priority, attempts });
    } catch (e) {
      if (e instanceof RetriesExhausted)
        return finish('failed', { error: errorFromProvider(e.last), attempts });
      if (e instanceof ProviderError)
        return finish(e.kind === 'config' ? 'failed' : 'rejected', { error: errorFromProvider(e), attempts });
      return finish('failed', { error: errorFromUnknown(e), attempts });
    }
  }

  async function expand(t: SelectTransition, ctx: ApplyContext): Promise<Expansion> {
    const refuse = (code: string, message: string) =>
      new ProviderError({ kind: code === 'Expired' ? 'invalid' : 'auth', code, message });
    if (t.notAfter !== undefined && env.now() > Date.parse(t.notAfter))
      throw refuse('Expired', `handled after notAfter ${t.notAfter}`);
    const target = targetOf(t);
    if (!opts.allowlist.allows(target))
      throw refuse(
        'TargetNotAllowed',
        `${t.provider}:${t.account ?? ''}@${t.region} is not in JOBCTL_ALLOWED_TARGETS`,
      );
    const provider = await opts.providers.get(t.provider);
    const { select, ...rest } = t;
    const max = select.max ?? DEFAULT_SELECT_MAX;
    const createdBefore =
      select.olderThanMinutes === undefined ? undefined : env.now() - select.olderThanMinutes * 60_000;
    const base = t.id ?? ctx.id;
    const out: JobTransition[] = [];
    let matched = 0;
    let nextToken: string | undefined;
    do {
      const page = await withRetry(
        (timeoutMs) =>
          provider.list(
            target,
            { statuses: select.statuses, maxResults: 1000, nextToken },
            { timeoutMs, signal: ctx.signal },
          ),
        policy,
        env,
        { deadline: ctx.deadline, signal: ctx.signal },
      );
      for (const job of page.value.jobs) {
        if (select.descriptionPrefix !== undefined && !job.description?.startsWith(select.descriptionPrefix))
          continue;
        if (createdBefore !== undefined && !(Date.parse(job.creationTime ?? '') <= createdBefore)) continue;
        // A provider that ignores the status filter must not widen the selection.
        if (select.statuses && !select.statuses.includes(job.status as never)) continue;
        matched++;
        if (out.length < max)
          out.push({ ...rest, id: derivedId(base, job.jobId), jobId: job.jobId } as JobTransition);
      }
      nextToken = page.value.nextToken ?? undefined;
    } while (nextToken && out.length < max);
    return { transitions: out, matched, truncated: matched > out.length || nextToken !== undefined };
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
  return {
    id: echo.id ?? fallbackId,
    provider: echo.provider ?? null,
    region: echo.region ?? null,
    account: echo.account ?? null,
    jobId: echo.jobId ?? null,
    action: echo.action ?? null,
    outcome: 'invalid',
    status: null,
    priority: null,
    error: {
      code: 'InvalidTransition',
      message: error.message,
      field: error.field,
      httpStatus: null,
      requestId: null,
    },
    attempts: 0,
    trigger,
    startedAt: now,
    finishedAt: now,
    raw: truncateRaw(body),
  };
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
