import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { Subscription, type CheckpointedHandler, type EventBatches } from './subscription.js';

type E = { position: bigint };
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A log of `count` events served in pages of `page`; it ends when the signal aborts. */
function log(count: number, page: number): { batches: EventBatches<E>; requests: Array<bigint | undefined> } {
  const requests: Array<bigint | undefined> = [];
  const batches: EventBatches<E> = async function* (after, signal) {
    requests.push(after);
    let cursor = Number(after ?? 0n);
    while (cursor < count && !signal.aborted) {
      const upTo = Math.min(count, cursor + page);
      yield Array.from({ length: upTo - cursor }, (_, i) => ({ position: BigInt(cursor + i + 1) }));
      cursor = upTo;
    }
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  };
  return { batches, requests };
}

/** A store of work with its checkpoint committed together; `failAt` makes one batch containing it fail once. */
function handler(
  failAt?: bigint,
): CheckpointedHandler<E> & { applied: bigint[]; committed: bigint | undefined; released: number } {
  let failed = false;
  const state = {
    applied: [] as bigint[],
    committed: undefined as bigint | undefined,
    released: 0,
    resume: async () => state.committed,
    handle: (batch: E[]) => {
      if (failAt !== undefined && !failed && batch.some((e) => e.position === failAt)) {
        failed = true;
        throw new Error('broker went away');
      }
      state.applied.push(...batch.map((e) => e.position));
      state.committed = batch[batch.length - 1]!.position;
    },
    release: async () => {
      state.released += 1;
    },
  };
  return state;
}

describe('Subscription: a source, a handler, a checkpoint committed with the work', () => {
  it('delivers every batch in order and moves the checkpoint after each commit; waitFor resolves on it', async () => {
    const { batches } = log(25, 10);
    const work = handler();
    const subscription = new Subscription('test', batches, work, { logger: quiet });
    const commits: bigint[] = [];
    subscription.onCommit((position) => commits.push(position));
    subscription.start();
    expect(await subscription.waitFor(25n, 2_000)).toBe(true);
    expect(work.applied).toEqual(Array.from({ length: 25 }, (_, i) => BigInt(i + 1)));
    expect(commits).toEqual([10n, 20n, 25n]);
    expect(subscription.checkpoint).toBe(25n);
    expect(subscription.state).toBe('running');
    await subscription.stop();
    expect(subscription.state).toBe('stopped');
    expect(work.released).toBe(1);
  });

  it('after a failed batch it releases, backs off, and resumes right after the committed checkpoint: nothing skipped, nothing twice', async () => {
    const { batches, requests } = log(30, 10);
    const work = handler(15n);
    const failures: number[] = [];
    const subscription = new Subscription('test', batches, work, {
      logger: quiet,
      backoff: { initialMs: 10, maxMs: 10 },
      onFailure: (_error, attempt) => void failures.push(attempt),
    });
    subscription.start();
    expect(await subscription.waitFor(30n, 2_000)).toBe(true);
    expect(work.applied).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i + 1)));
    expect(requests).toEqual([undefined, 10n]);
    expect(failures).toEqual([1]);
    expect(work.released).toBeGreaterThanOrEqual(1);
    expect(subscription.lastError).toBeUndefined();
    await subscription.stop();
  });

  it('reports retrying with the error while the handler cannot resume', async () => {
    const { batches } = log(5, 5);
    let attempts = 0;
    const subscription = new Subscription<E>(
      'test',
      batches,
      {
        resume: async () => {
          attempts += 1;
          throw new Error('checkpoint unreadable');
        },
        handle: () => {},
      },
      { logger: quiet, backoff: { initialMs: 5, maxMs: 5 } },
    );
    subscription.start();
    await expect.poll(() => attempts, { timeout: 2_000 }).toBeGreaterThanOrEqual(3);
    expect(subscription.state).toBe('retrying');
    expect(subscription.lastError).toBe('checkpoint unreadable');
    expect(await subscription.waitFor(1n, 50)).toBe(false);
    await subscription.stop();
  });

  it('keeps no abort listener per retry: after 200 failed attempts the stop signal holds as many as after the first', async () => {
    let signal: AbortSignal | undefined;
    let attempts = 0;
    const listeners: number[] = [];
    const { batches } = log(5, 5);
    const failing: CheckpointedHandler<E> = {
      resume: async (given) => {
        signal = given;
        listeners.push(getEventListeners(given, 'abort').length);
        return undefined;
      },
      handle: () => {
        attempts += 1;
        throw new Error('store locked');
      },
    };
    const subscription = new Subscription('test', batches, failing, {
      logger: quiet,
      backoff: { initialMs: 0, maxMs: 0 },
      onFailure: () => false,
    });
    subscription.start();
    await vi.waitFor(() => expect(attempts).toBeGreaterThanOrEqual(200), { timeout: 10_000, interval: 5 });
    expect(getEventListeners(signal!, 'abort').length).toBeLessThanOrEqual(listeners[0]! + 1);
    expect(Math.max(...listeners)).toBe(listeners[0]);
    await subscription.stop();
    expect(getEventListeners(signal!, 'abort')).toHaveLength(0);
  });
});
