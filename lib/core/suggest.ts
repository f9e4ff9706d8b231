/**
 * "Did you mean …?" for a name that is not one of the known ones: an unknown command-line option,
 * or an unknown field of a transition message. A near miss is a small edit distance (a typo, a
 * swapped pair) or a case/separator difference (`jobid` for `jobId`, `app_id` for `appId`).
 */

/** The known name closest to `word`, when it is close enough to be the one meant. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    if (squash(k) === squash(word)) return k;
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  // Short names allow one edit, longer ones two: `--max` → `--mix` is a guess, not a typo.
  const allowed = word.replace(/^-+/, '').length <= 4 ? 1 : 2;
  return bestDistance <= allowed ? best : undefined;
}

/** Optimal string alignment distance: insert, delete, substitute, swap neighbours. Names are short. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Number.POSITIVE_INFINITY;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/**
 * `unknown field "jobid" (did you mean "jobId"?)`: the text of an unknown message field, for
 * the message validator (lib/core/transition.ts) to use in place of its bare "unknown field".
 */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const shown = JSON.stringify(key.slice(0, 40).toWellFormed());
  const near = didYouMean(key, known);
  return `unknown field ${shown}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`;
}
