/**
 * The reconcile schedule of serverless.yml, on one machine: `jobctl run` invokes the real
 * functions/reconcile.ts handler every period, as EventBridge Scheduler would (first fire one
 * period after start; one tick at a time, like the function's reserved concurrency of 1 — a tick
 * still running when the next is due makes that one a miss, which the next tick makes up), and
 * keeps what the live view shows: the last tick and the verdicts counted so far.
 */
import type { Context } from 'aws-lambda';
import type { Verdict } from '../core/verdict';
import type { ReconcileReport } from '../lambda/reconcile';

export interface TickerOptions {
  periodMs: number;
  /** The handler: functions/reconcile.ts's `handler` in `jobctl run`. */
  handler: (event: { tickTime: string }, context: Context) => Promise<ReconcileReport>;
  context: (timeoutMs: number) => Context;
  /** The function's timeout (serverless.yml `timeout`), default 120 s. */
  timeoutMs?: number;
  now?: () => number;
  onTick?: (r: ReconcileReport) => void;
  onError?: (e: unknown, tickTime: string) => void;
}

export interface LastTick {
  tickTime: string;
  actions: number;
  enqueued: number;
  holds: number;
  /** Targets that could not be listed, by key. */
  unlisted: string[];
  /** null without a ledger; false when it could not be read or written this tick. */
  ledgerOk: boolean | null;
  error: string | null;
}

export interface Ticker {
  readonly periodMs: number;
  readonly ticks: number;
  readonly missed: number;
  readonly last: LastTick | null;
  /** `settled` messages published by the ticks of this run, per verdict. */
  readonly verdicts: Readonly<Record<Verdict, number>>;
  /** When the next tick is due (epoch ms). */
  readonly next: number;
  /** One tick now, outside the period (tests; `--reconcile-now`). Resolves once it has run. */
  tickNow(): Promise<void>;
  /** No further tick; resolves once a running one has finished. */
  stop(): Promise<void>;
}

/**
 * `tick   <time> · actions 2 (2 enqueued) · holds 3 · unlisted cos#… · verdicts succeeded 1`;
 * `time` formats an instant (the live view: wall time with offset, as it shows fire times).
 */
export function tickerLine(
  t: Ticker,
  time: (ms: number) => string = (ms) => new Date(ms).toISOString(),
): string {
  const v = Object.entries(t.verdicts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const verdicts = `verdicts ${v || '0'}`;
  const l = t.last;
  if (!l) return `tick   every ${Math.round(t.periodMs / 1000)} s, first at ${time(t.next)} · ${verdicts}`;
  if (l.error) return `tick   ${time(Date.parse(l.tickTime))} failed: ${l.error} · ${verdicts}`;
  return [
    `tick   ${time(Date.parse(l.tickTime))}`,
    `actions ${l.actions} (${l.enqueued} enqueued)`,
    `holds ${l.holds}`,
    ...(l.unlisted.length ? [`unlisted ${l.unlisted.join(', ')}`] : []),
    ...(l.ledgerOk === false ? ['ledger unavailable'] : []),
    verdicts,
  ].join(' · ');
}

export function startTicker(o: TickerOptions): Ticker {
  const now = o.now ?? Date.now;
  const timeoutMs = o.timeoutMs ?? 120_000;
  const verdicts: Record<Verdict, number> = { succeeded: 0, partial: 0, failed: 0, cancelled: 0 };
  let next = now() + o.periodMs;
  let ticks = 0;
  let missed = 0;
  let last: LastTick | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const run = (at: number): Promise<void> => {
    const tickTime = new Date(at).toISOString();
    const p = (async () => {
      try {
        const r = await o.handler({ tickTime }, o.context(timeoutMs));
        ticks++;
        for (const [k, n] of Object.entries(r.ledger?.verdicts ?? {})) verdicts[k as Verdict] += n ?? 0;
        last = {
          tickTime: r.tickTime,
          actions: r.policies.reduce((n, p) => n + p.actions, 0),
          enqueued: r.enqueued,
          holds: r.policies.reduce((n, p) => n + p.holds, 0),
          unlisted: r.unlisted.map((u) => u.key),
          ledgerOk: r.ledger ? r.ledger.ok : null,
          error: null,
        };
        o.onTick?.(r);
      } catch (e) {
        ticks++;
        last = {
          tickTime,
          actions: 0,
          enqueued: 0,
          holds: 0,
          unlisted: [],
          ledgerOk: null,
          error: String((e as Error)?.message ?? e).slice(0, 200),
        };
        o.onError?.(e, tickTime);
      }
    })();
    running = p.finally(() => {
      running = null;
    });
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        const due = next;
        next += o.periodMs;
        // Periods that passed while the process slept or a tick ran long: missed, not queued up.
        while (next <= now()) {
          next += o.periodMs;
          missed++;
        }
        if (running) missed++;
        else void run(due);
        schedule();
      },
      Math.max(0, next - now()),
    );
    timer.unref?.();
  };
  schedule();

  return {
    periodMs: o.periodMs,
    get ticks() {
      return ticks;
    },
    get missed() {
      return missed;
    },
    get last() {
      return last;
    },
    verdicts,
    get next() {
      return next;
    },
    async tickNow() {
      if (running) await running;
      await run(now());
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (running) await running;
    },
  };
}
