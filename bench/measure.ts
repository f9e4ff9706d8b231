/**
 * What every benchmark shares: a result row (a ratio against a baseline measured in the same run,
 * as min / median / max over repeats, and the target it is held to), the spread of a sample, and
 * an A/B driver that interleaves the sides so that drift on a busy machine cancels in the ratio.
 */

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface Target {
  /** `<=`: the figure must not exceed `value`; `>=`: it must reach it. */
  op: '<=' | '>=';
  value: number;
}

export interface Row {
  /** Stable key in results.json, e.g. `cos.vs-raw`. */
  id: string;
  /** What is measured, as the table says it. */
  measure: string;
  /** What it is compared against; `—` for an absolute figure. */
  baseline: string;
  unit: '×' | 'x faster' | 's' | 'MB' | 'requests';
  value: Spread;
  target: Target;
  pass: boolean;
  /** Absolute figures behind the ratio (µs per call, ms, bytes, …), for the reader and the docs. */
  detail: Record<string, unknown>;
}

export interface RunOptions {
  quick: boolean;
  /** Progress lines on stderr. */
  log: (line: string) => void;
}

export interface Benchmark {
  name: string;
  summary: string;
  run(opts: RunOptions): Promise<Row[]>;
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]! };
}

export const meets = (t: Target, v: number): boolean => (t.op === '<=' ? v <= t.value : v >= t.value);

export function row(r: Omit<Row, 'pass'>): Row {
  return { ...r, pass: meets(r.target, r.value.median) };
}

/** Per-repeat ratios `a / b` of two equally long samples (repeat i of one against repeat i of the other). */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

/** Every ordering of `xs`. */
function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/**
 * Time each side `repeats` times, cycling through every ordering of the sides, so that a slow
 * moment on the machine falls on every side alike and each side follows each other side equally
 * often (a side that leaves garbage behind must not always hand its collection to the same
 * neighbour). `prepare` runs untimed before each timed `run` (fresh jobs, signed requests); `run`
 * returns nothing, its wall time is the sample.
 */
export async function interleave<K extends string>(
  sides: Record<K, { prepare?: () => Promise<unknown>; run: (prepared: unknown) => Promise<void> }>,
  repeats: number,
): Promise<Record<K, number[]>> {
  const names = Object.keys(sides) as K[];
  const orders = permutations(names);
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < repeats; r++) {
    for (const name of orders[r % orders.length]!) {
      const side = sides[name];
      const prepared = await side.prepare?.();
      const t0 = performance.now();
      await side.run(prepared);
      out[name].push(performance.now() - t0);
    }
  }
  return out;
}

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
