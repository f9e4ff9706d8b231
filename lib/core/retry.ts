/**
 * Retries for transient provider trouble: exponential backoff with full jitter (AWS Architecture
 * Blog, "Exponential Backoff and Jitter"), bounded three ways — attempts, total time, and the
 * caller's deadline (a Lambda's remaining time), so a retry never outlives the function.
 */
import { ProviderError } from '../providers/errors';

export interface RetryPolicy {
  /** Calls at most, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Total time one operation may take, retries and waits included. */
  budgetMs: number;
  /** Per-call timeout. */
  callTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  budgetMs: 30_000,
  callTimeoutMs: 10_000,
};

/** Don't start a call with less time than this left before the deadline: it could not finish. */
export const MIN_CALL_MS = 250;

export interface RetryEnv {
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const realRetryEnv: RetryEnv = {
  now: Date.now,
  random: Math.random,
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    }),
};

export interface Attempted<T> {
  value: T;
  attempts: number;
}

/** Thrown when the budget runs out: the last error and how many calls were made. */
export class RetriesExhausted extends Error {
  override readonly name = 'RetriesExhausted';
  constructor(
    readonly last: ProviderError,
    readonly attempts: number,
  ) {
    super(last.message);
  }
}

/**
 * Run `call` until it succeeds, fails for good (a non-retryable ProviderError, rethrown as is),
 * or the budget is spent (RetriesExhausted). `call` receives the timeout it must respect.
 * Anything that is not a ProviderError is a bug and propagates at once.
 */
export async function withRetry<T>(
  call: (timeoutMs: number) => Promise<T>,
  policy: RetryPolicy,
  env: RetryEnv,
  limits: { deadline?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<Attempted<T>> {
  const stopAt = Math.min(env.now() + policy.budgetMs, limits.deadline ?? Number.POSITIVE_INFINITY);
  let attempts = 0;
  let last: RetriesExhausted | undefined;
  for (;;) {
    const left = stopAt - env.now();
    if (left < MIN_CALL_MS) throw last ?? new RetriesExhausted(deadlineError(), 0);
    attempts++;
    try {
      return { value: await call(Math.min(policy.callTimeoutMs, left)), attempts };
    } catch (e) {
      if (!(e instanceof ProviderError) || !e.retryable) throw e;
      last = new RetriesExhausted(e, attempts);
    }
    if (attempts >= policy.maxAttempts || limits.signal?.aborted) throw last;
    const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempts - 1));
    const delay = Math.floor(env.random() * cap);
    if (env.now() + delay + MIN_CALL_MS > stopAt) throw last;
    await env.sleep(delay, limits.signal);
    if (limits.signal?.aborted) throw last;
  }
}

const deadlineError = () =>
  new ProviderError({
    kind: 'timeout',
    code: 'DeadlineExceeded',
    message: 'no time left before the deadline',
  });
