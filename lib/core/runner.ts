/**
 * Work ordered by key under a concurrency bound: the one mechanism behind the SQS batch and
 * `jobctl apply`. Two pieces of work with the same key (the same job, or the same FIFO message
 * group) run one after the other, in the order their turns were taken; at most `concurrency`
 * pieces run at once, whatever their keys.
 *
 * A turn is taken when the work is known (arrival order, input order) and run later, so the order
 * holds whatever order the caller happens to start things in.
 *
 * @example
 * const runner = createRunner(4);
 * const turns = records.map((r) => runner.turn(keyOfBody(r.body) ?? null));
 * await Promise.all(records.map((r, i) => turns[i].run(() => handle(r))));
 */

export interface Turn {
  /**
   * Wait for the previous turn of the same key to settle (ran, failed or was given up), then run
   * `fn` in a slot. Settles this turn when `fn` settles. Call at most once; a turn that is never
   * run holds up its key, so give it up with `skip` instead.
   */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Wait for the previous turn of the key without taking a slot: the work was given up. */
  skip(): Promise<void>;
  /** Resolves once the previous turn of the same key has settled. */
  readonly ready: Promise<void>;
}

export interface Runner {
  /** Take the next place in `key`'s line (null: the work orders with nothing). */
  turn(key: string | null): Turn;
  /** `turn(key).run(fn)`. */
  run<T>(key: string | null, fn: () => Promise<T>): Promise<T>;
}

export function createRunner(concurrency: number): Runner {
  const slots = semaphore(concurrency);
  const last = new Map<string, Promise<void>>();

  function turn(key: string | null): Turn {
    const ready = (key !== null && last.get(key)) || Promise.resolve();
    let settle!: () => void;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    if (key !== null) {
      last.set(key, done);
      // The line forgets a key whose last turn has settled, so a long run does not grow the map.
      void done.then(() => {
        if (last.get(key) === done) last.delete(key);
      });
    }
    return {
      ready,
      async run<T>(fn: () => Promise<T>): Promise<T> {
        try {
          await ready;
          await slots.acquire();
          try {
            return await fn();
          } finally {
            slots.release();
          }
        } finally {
          settle();
        }
      },
      async skip() {
        try {
          await ready;
        } finally {
          settle();
        }
      },
    };
  }

  return { turn, run: (key, fn) => turn(key).run(fn) };
}

/** The ordering key of one job: the same for a validated transition and for a raw body naming it. */
export function jobKey(t: {
  provider?: unknown;
  account?: unknown;
  appId?: unknown;
  region?: unknown;
  jobId: string;
}): string {
  return `job:${t.provider}:${t.account ?? ''}:${t.appId ?? ''}:${t.region}:${t.jobId}`;
}

/**
 * The job a raw message body names, before validation; null if it names none (invalid bodies
 * are answered `invalid` by the controller and order with nothing).
 */
export function keyOfBody(body: string): string | null {
  try {
    const m = JSON.parse(body) as Record<string, unknown> | null;
    if (m && typeof m === 'object' && typeof m.jobId === 'string') return jobKey({ ...m, jobId: m.jobId });
  } catch {
    // not JSON: see above
  }
  return null;
}

function semaphore(n: number) {
  let free = Math.max(1, n);
  const waiting: (() => void)[] = [];
  return {
    acquire(): Promise<void> {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release() {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}

/**
 * An ordered stream of results with a bound: `push` waits while `limit` results are unread, so a
 * producer (a select's pages) cannot run ahead of its reader (`jobctl apply` printing in input
 * order) by more than that.
 */
export interface Channel<T> extends AsyncIterable<T> {
  push(value: T): Promise<void>;
  close(): void;
}

export function createChannel<T>(limit: number): Channel<T> {
  const buffer: T[] = [];
  let closed = false;
  let wakeReader: (() => void) | undefined;
  const writers: (() => void)[] = [];
  const wake = () => {
    wakeReader?.();
    wakeReader = undefined;
  };
  return {
    async push(value) {
      buffer.push(value);
      wake();
      while (buffer.length >= limit) await new Promise<void>((resolve) => writers.push(resolve));
    },
    close() {
      closed = true;
      wake();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (buffer.length > 0) {
          yield buffer.shift() as T;
          writers.shift()?.();
          continue;
        }
        if (closed) return;
        await new Promise<void>((resolve) => {
          wakeReader = resolve;
        });
      }
    },
  };
}
