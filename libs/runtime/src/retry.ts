/**
 * The project's one retry, backoff and bounded-wait module, on node:timers/promises: every loop that tries again
 * (command handlers on a concurrent write, subscriptions after a failure, locked SQLite reads, broker checks) uses it.
 */
import { setImmediate as immediate, setTimeout as delay } from 'node:timers/promises';

/** Doubling waits from initialMs, capped at maxMs. */
export type Backoff = { initialMs: number; maxMs: number };

/** The wait after the n-th consecutive failure (n ≥ 1). */
export const backoffDelay = (failures: number, { initialMs, maxMs }: Backoff): number =>
  Math.min(initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 30), maxMs);

/**
 * Resolves on the event loop's next turn, after pending I/O: a long loop of reads that resolve at once (a page from
 * SQLite is synchronous) awaits this between steps, or it runs on microtasks and no request is served until it ends.
 */
export const nextTurn = (): Promise<void> => immediate();

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks the signal). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

export type RetryOptions = {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Which failures are tried again; any other is thrown at once. */
  retryOn: (error: unknown) => boolean;
  /** Waits between attempts; none: at once (a fresh read is what the next attempt needs, not time). */
  backoff?: Backoff;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number) => void;
};

/** Runs `operation` until it succeeds, a failure is not retriable, or the attempts are spent (the last error is thrown). */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.retryOn(error) || options.signal?.aborted) throw error;
      options.onRetry?.(error, attempt);
      if (options.backoff) await sleep(backoffDelay(attempt, options.backoff), options.signal);
    }
  }
}

/** A bounded wait ran out; the operation itself goes on and its late result is ignored. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Rejects with TimeoutError after `ms`: the caller must never hang on a peer that does not answer. */
export async function within<T>(operation: Promise<T>, ms: number, what: string): Promise<T> {
  const timer = new AbortController();
  operation.catch(() => undefined);
  const timeout = delay(ms, undefined, { signal: timer.signal }).then(
    () => Promise.reject(new TimeoutError(`${what} timed out after ${ms} ms`)),
    () => new Promise<never>(() => undefined),
  );
  try {
    return await Promise.race([operation, timeout]);
  } finally {
    timer.abort();
  }
}

/** true when the promise settled (either way) within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await within(promise, ms, 'operation');
    return true;
  } catch (error) {
    return !(error instanceof TimeoutError);
  }
}
