/**
 * Following the embedded log: pages after a position, then each new page as commits land. A commit of this
 * process wakes followers at once (`notify`); another process's commit is seen within `pollIntervalMs` through
 * `PRAGMA data_version`, polled once for every waiting follower and only while one waits.
 */
import { EventEmitter } from 'node:events';
import { nextTurn } from '#runtime';
import type { SqliteLogReader } from './log-reader.js';

export class SqliteLogFollower {
  private readonly commits = new EventEmitter();
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly reader: () => SqliteLogReader | undefined,
    private readonly pollIntervalMs: number,
  ) {
    this.commits.setMaxListeners(0);
  }

  /** Something was committed: wake every follower. */
  notify(): void {
    this.commits.emit('commit');
  }

  /** Ends every follow. */
  close(): void {
    this.closed = true;
    clearInterval(this.poller);
    this.commits.emit('commit');
  }

  async *follow<E extends { position: bigint }>(
    readPage: (after: bigint) => Promise<E[]>,
    after: bigint | undefined,
    signal?: AbortSignal,
  ): AsyncIterable<E[]> {
    let cursor = after ?? 0n;
    while (!signal?.aborted && !this.closed) {
      // Register the wake-up before reading so a commit between the read and the wait is not missed.
      const woken = this.nextCommit(signal);
      let page: E[];
      try {
        page = await readPage(cursor);
      } catch (error) {
        woken.cancel();
        throw error;
      }
      if (page.length > 0) {
        woken.cancel();
        cursor = page[page.length - 1]!.position;
        yield page;
        // Let the loop turn between pages so a long catch-up never starves the thread's other work.
        await nextTurn();
      } else await woken.promise;
    }
  }

  private poll(): void {
    if (this.poller) return;
    this.poller = setInterval(() => {
      if (this.commits.listenerCount('commit') === 0) {
        clearInterval(this.poller);
        this.poller = undefined;
      } else if (this.reader()?.changed()) this.notify();
    }, this.pollIntervalMs);
    this.poller.unref();
  }

  private nextCommit(signal?: AbortSignal): { promise: Promise<void>; cancel: () => void } {
    let cancel = (): void => {};
    this.poll();
    const promise = new Promise<void>((resolve) => {
      const done = (): void => {
        this.commits.off('commit', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.commits.on('commit', done);
      signal?.addEventListener('abort', done);
      cancel = done;
    });
    return { promise, cancel };
  }
}
