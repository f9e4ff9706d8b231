/**
 * Lambda: the reconciler's tick, fired by EventBridge Scheduler every few minutes (one concurrent
 * execution). Observes every policy's target, plans, and enqueues each action as an ordinary
 * transition message; see lib/lambda/reconcile.ts.
 *
 * Policies come from the file bundled beside the function (`policies.yml` at the package root),
 * or JOBCTL_POLICIES; they are read once per container.
 */
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { loadPolicies, type Policy } from '../lib/core/policies';
import { DEFAULT_PERIOD_MS, type ReconcileReport, reconcileTick } from '../lib/lambda/reconcile';
import { type RuntimeSource, resolveRuntime, runtimeFromEnv } from '../lib/lambda/runtime';

/** What the schedule sends: `{"tickTime": "<aws.scheduler.scheduled-time>"}`. */
export interface ReconcileEvent {
  tickTime?: string;
}

export const DEFAULT_POLICIES_FILE = fileURLToPath(new URL('../policies.yml', import.meta.url));

/** JOBCTL_RECONCILE_PERIOD_MINUTES: the schedule's rate, so notAfter lapses when the next tick is due. */
export function periodMs(env: NodeJS.ProcessEnv): number {
  const raw = env.JOBCTL_RECONCILE_PERIOD_MINUTES;
  if (raw === undefined || raw === '') return DEFAULT_PERIOD_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1440)
    throw new Error('JOBCTL_RECONCILE_PERIOD_MINUTES must be an integer from 1 to 1440');
  return n * 60_000;
}

/** JOBCTL_RECONCILE_DESCRIBE_MAX: DescribeJob calls per tick for the ledger (default 200). */
export function describeMax(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.JOBCTL_RECONCILE_DESCRIBE_MAX;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 10_000)
    throw new Error('JOBCTL_RECONCILE_DESCRIBE_MAX must be an integer from 0 to 10000');
  return n;
}

export const createReconcileHandler =
  (
    runtime: RuntimeSource,
    policies: readonly Policy[] | (() => Promise<readonly Policy[]>),
    env: NodeJS.ProcessEnv = process.env,
  ) =>
  async (event: ReconcileEvent | undefined, context: Context): Promise<ReconcileReport> => {
    const rt = resolveRuntime(runtime);
    try {
      const list = typeof policies === 'function' ? await policies() : policies;
      const { report } = await reconcileTick(
        list,
        context,
        {
          providers: rt.providers,
          allowlist: rt.config.allowlist,
          retry: rt.config.retry,
          publisher: rt.publisher,
          enqueue: rt.enqueue,
          reserveMs: rt.reserveMs,
          periodMs: periodMs(env),
          // Without JOBCTL_TABLE there is no ledger and the tick follows nothing.
          ledger: rt.ledger ?? undefined,
          ...(describeMax(env) !== undefined ? { describeMax: describeMax(env)! } : {}),
        },
        { tickTime: event?.tickTime },
      );
      rt.observer.logger.info('reconcile tick', {
        tickTime: report.tickTime,
        enqueued: report.enqueued,
        failed: report.failed,
        unlisted: report.unlisted.length,
        stoppedAtDeadline: report.stoppedAtDeadline,
        ledger: report.ledger,
        durationMs: report.durationMs,
      });
      // Not enqueued → fail the invocation so the scheduler retries the same tick time: the same
      // ids, and a repeat of an applied transition is `unchanged`.
      if (report.failed > 0) throw new Error(`${report.failed} reconcile actions were not enqueued`);
      return report;
    } finally {
      rt.observer.flush();
    }
  };

let cached: Promise<readonly Policy[]> | undefined;
const bundledPolicies = () => {
  cached ??= loadPolicies(process.env.JOBCTL_POLICIES || DEFAULT_POLICIES_FILE).catch((e) => {
    cached = undefined; // a fixed file is read on the next tick
    throw e;
  });
  return cached;
};

export const handler = createReconcileHandler(runtimeFromEnv(), bundledPolicies);
