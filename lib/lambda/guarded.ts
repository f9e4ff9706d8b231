/**
 * One job transition applied under the shared state (./state.ts), and its outcome published: the
 * seam a transitions runner calls in place of `controller.apply` + `publish`, so that redelivered,
 * concurrent and overtaken messages never yield contradicting outcomes.
 *
 * - Another delivery of the same id in progress, or another transition of the same job and
 *   attribute in flight: `TryLater` is thrown — nothing sent, nothing published; the record fails
 *   back to the queue (like the runner's NotProcessed).
 * - The id completed before: the stored outcome is published again, nothing sent.
 * - Older (by `requestedAt`) than the transition applied last: `superseded`, naming the newer.
 * - The state store unavailable: `failed` with code `StateUnavailable`, nothing sent.
 *
 * `requestedAt`: the message's own (at most MAX_CLOCK_SKEW_MS after it was sent), else when the
 * queue received it (`sentAt`, SQS SentTimestamp), else now.
 *
 * @example
 * const { outcome } = await applyGuarded(t, trigger, { id: record.messageId, deadline, hardDeadline,
 *   sentAt: Number(record.attributes.SentTimestamp) }, { state, controller, publish });
 */
import type { Controller } from '../core/controller';
import { type Frame, failed, type Outcome, superseded, type Trigger } from '../core/outcome';
import { type JobTransition, targetOf } from '../core/transition';
import { type Attribute, jobKey, type StateStore, StateUnavailable } from './state';

export interface GuardDeps {
  state: StateStore;
  controller: Pick<Controller, 'apply'>;
  /** Puts an outcome on the results queue, giving up by `hardDeadline`. */
  publish: (o: Outcome, hardDeadline?: number) => Promise<unknown>;
  now?: () => number;
}

export interface GuardContext {
  /** The id of a transition without one (the SQS message id). */
  id: string;
  /** Provider work stops here (epoch ms). */
  deadline: number;
  /** The invocation ends here: the claims on the id and the job's lease last until then. */
  hardDeadline: number;
  /** When the queue received the message (epoch ms): `requestedAt` for a message without one. */
  sentAt?: number | undefined;
}

/** How far ahead of its sending a message's requestedAt is believed; beyond, it is cut to this. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Not handled now, and nothing was sent or published: let the queue deliver it again later. */
export class TryLater extends Error {
  override readonly name = 'TryLater';
  /** When the holder's claim or lease ends (epoch ms): no point in delivering it again before. */
  constructor(
    message: string,
    readonly until: number,
  ) {
    super(message);
  }
}

export interface Guarded {
  outcome: Outcome;
  /** The stored outcome of an earlier delivery, published again. */
  republished: boolean;
}

export async function applyGuarded(
  t: JobTransition,
  trigger: Trigger,
  ctx: GuardContext,
  deps: GuardDeps,
): Promise<Guarded> {
  const now = deps.now ?? Date.now;
  const startedAt = new Date(now()).toISOString();
  const id = t.id ?? ctx.id;
  const received = ctx.sentAt ?? now();
  // Nothing is asked for after it was sent: a requestedAt further ahead (a skewed clock, a typo
  // of a year) would otherwise supersede every real transition of the job for weeks.
  const requestedAt =
    t.requestedAt !== undefined && Date.parse(t.requestedAt) <= received + MAX_CLOCK_SKEW_MS
      ? t.requestedAt
      : new Date(t.requestedAt === undefined ? received : received + MAX_CLOCK_SKEW_MS).toISOString();
  const frame = (): Frame => ({
    subject: {
      id,
      provider: t.provider,
      region: t.region,
      account: t.account ?? null,
      jobId: t.jobId,
      action: t.action,
    },
    trigger,
    startedAt,
    finishedAt: new Date(now()).toISOString(),
  });
  const publish = async (outcome: Outcome, republished = false): Promise<Guarded> => {
    await deps.publish(outcome, ctx.hardDeadline);
    return { outcome, republished };
  };
  const unavailable = (e: StateUnavailable) =>
    publish(failed(frame(), { code: e.code, message: e.message, httpStatus: null, requestId: null }));

  let begun: Awaited<ReturnType<StateStore['begin']>>;
  try {
    begun = await deps.state.begin(id, ctx.hardDeadline);
  } catch (e) {
    if (e instanceof StateUnavailable) return unavailable(e);
    throw e;
  }
  if (begun.kind === 'inProgress')
    throw new TryLater(
      `${id} is being handled by another delivery until ${new Date(begun.until).toISOString()}`,
      begun.until,
    );
  if (begun.kind === 'completed') return publish(begun.outcome as Outcome, true);
  const claim = begun.claim;
  // Losing the claim costs a later redelivery one more provider call at most: never fail for it.
  const release = () => deps.state.release(claim).catch(() => {});

  const [attribute, value]: [Attribute, string | number] =
    t.action === 'UpdateJobStatus' ? ['status', t.requestedJobStatus] : ['priority', t.priority];
  let order: Awaited<ReturnType<StateStore['claimOrder']>>;
  try {
    order = await deps.state.claimOrder(
      { job: jobKey(targetOf(t), t.jobId), attribute, transitionId: id, requestedAt },
      ctx.hardDeadline,
    );
  } catch (e) {
    await release();
    if (e instanceof StateUnavailable) return unavailable(e);
    throw e;
  }
  if (order.kind === 'wait') {
    await release();
    throw new TryLater(
      `${t.jobId}'s ${attribute} is being changed by ${order.holder ?? 'another transition'}`,
      order.until,
    );
  }
  if (order.kind === 'superseded') {
    const outcome = superseded(frame(), order.by.transitionId);
    await deps.state.complete(claim, outcome).catch(() => false);
    return publish(outcome);
  }

  const outcome = await deps.controller.apply(t, trigger, { id, deadline: ctx.deadline });
  const inEffect = outcome.outcome === 'applied' || outcome.outcome === 'unchanged';
  // The provider has answered; a store failing now cannot undo that. An unrecorded lease ends at
  // the hard deadline; an unrecorded completion lets a redelivery ask the provider again, which
  // reads as `unchanged`.
  // Two items, no order between them: one round trip for both.
  await Promise.all([
    deps.state.finishOrder(order.lease, inEffect ? { value } : null).catch(() => {}),
    outcome.outcome === 'failed' ? release() : deps.state.complete(claim, outcome).catch(() => false),
  ]);
  return publish(outcome);
}
