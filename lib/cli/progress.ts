/**
 * Progress of a long operation (`apply` of a big select, `send` of a large file, `redrive`) on
 * stderr, redrawn in place — only when stderr is a terminal. Piped, it writes nothing, so logs and
 * scripts see only the command's real output.
 */
import type { Io } from './command';

export interface Progress {
  /** The total grew (a select expanded into its jobs). */
  add(n: number): void;
  tick(n?: number): void;
  /** Clear the line; the command prints its own summary. */
  done(): void;
}

const QUIET: Progress = { add() {}, tick() {}, done() {} };
/** Redraws at most this often: a terminal cannot show more, and a fast run should not slow down. */
const REDRAW_MS = 100;

export function progress(io: Io, label: string, total = 0): Progress {
  const err = io.stderr;
  if (err.isTTY !== true) return QUIET;
  let done = 0;
  let last = 0;
  let shown = false;
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < REDRAW_MS) return;
    last = now;
    shown = true;
    err.write(`\r\x1b[K${label} ${done}${total ? `/${total}` : ''}`);
  };
  return {
    add(n) {
      total += n;
    },
    tick(n = 1) {
      done += n;
      draw(done === total);
    },
    done() {
      if (shown) err.write('\r\x1b[K');
    },
  };
}
