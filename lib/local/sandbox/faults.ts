/**
 * Fault injection, seeded so that a run repeats: the n-th request of a run meets the same fault
 * for the same seed and rates. One uniform draw per request picks at most one fault from the
 * stacked rates (slow-down, server error, throttle, reset, hang), in that order.
 */

export interface FaultOptions {
  /** PRNG seed; the same seed and rates give the same sequence of faults. */
  seed?: number;
  /** Added to every answer (ms). */
  latencyMs?: number;
  /** Fraction of requests answered 503 SlowDown. */
  slowDownRate?: number;
  /** Fraction answered 500 InternalError. */
  serverErrorRate?: number;
  /** Fraction answered 429. */
  throttleRate?: number;
  /** Fraction whose connection is destroyed without an answer. */
  resetRate?: number;
  /** Fraction answered only after `hangMs`, slower than a client's timeout. */
  hangRate?: number;
  hangMs?: number;
}

export type FaultKind = 'slowDown' | 'serverError' | 'throttle' | 'reset' | 'hang';

export interface FaultDecision {
  latencyMs: number;
  fault: FaultKind | null;
  /** For `hang`: how long to hold the answer. */
  hangMs: number;
}

export const DEFAULT_HANG_MS = 30_000;

/** mulberry32: tiny, fast, and good enough to spread faults; never for anything secret. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ORDER: readonly [FaultKind, keyof FaultOptions][] = [
  ['slowDown', 'slowDownRate'],
  ['serverError', 'serverErrorRate'],
  ['throttle', 'throttleRate'],
  ['reset', 'resetRate'],
  ['hang', 'hangRate'],
];

export class FaultInjector {
  private options: FaultOptions = {};
  private random: () => number = mulberry32(0);
  private counts: Record<FaultKind, number> = emptyCounts();

  constructor(options: FaultOptions = {}) {
    this.configure(options);
  }

  /** New settings restart the sequence from the (new) seed, so a test's faults start fresh. */
  configure(options: FaultOptions): void {
    for (const [, key] of ORDER) {
      const rate = options[key] ?? 0;
      if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new RangeError(`${key} must be 0–1`);
    }
    const total = ORDER.reduce((sum, [, key]) => sum + ((options[key] as number | undefined) ?? 0), 0);
    if (total > 1 + 1e-9) throw new RangeError('fault rates add up to more than 1');
    this.options = { ...options };
    this.random = mulberry32(options.seed ?? 0);
  }

  /** Draw for one request. Without any rate set, nothing is drawn, so enabling latency alone changes nothing else. */
  decide(): FaultDecision {
    const latencyMs = Math.max(0, this.options.latencyMs ?? 0);
    const hangMs = this.options.hangMs ?? DEFAULT_HANG_MS;
    if (!ORDER.some(([, key]) => ((this.options[key] as number | undefined) ?? 0) > 0)) {
      return { latencyMs, fault: null, hangMs };
    }
    const r = this.random();
    let edge = 0;
    for (const [kind, key] of ORDER) {
      edge += (this.options[key] as number | undefined) ?? 0;
      if (r < edge) {
        this.counts[kind]++;
        return { latencyMs, fault: kind, hangMs };
      }
    }
    return { latencyMs, fault: null, hangMs };
  }

  /** Faults injected so far, by kind. */
  injected(): Record<FaultKind, number> {
    return { ...this.counts };
  }

  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

function emptyCounts(): Record<FaultKind, number> {
  return { slowDown: 0, serverError: 0, throttle: 0, reset: 0, hang: 0 };
}
