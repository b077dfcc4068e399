/**
 * Following a log: pages after a position, then each new page as commits land. A commit this process hears of wakes
 * followers at once (`notify`: its own append, PostgreSQL's NOTIFY); any other is seen within `pollIntervalMs`, when
 * `changed()` says so (SQLite: `PRAGMA data_version`; PostgreSQL: always, a read is the only way to know), polled once
 * for every waiting follower and only while one waits.
 */
import { EventEmitter } from 'node:events';
import { nextTurn } from '#runtime';
import type { SqliteLogReader } from './sqlite/log-reader.js';

export class LogFollower {
  private readonly commits = new EventEmitter();
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly changed: () => boolean,
    private readonly pollIntervalMs: number,
  ) {
    this.commits.setMaxListeners(0);
  }

  /** True while a follower waits for a commit. */
  get waiting(): boolean {
    return this.commits.listenerCount('commit') > 0;
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
    after: bigint,
    signal?: AbortSignal,
  ): AsyncIterable<E[]> {
    let cursor = after;
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
      if (!this.waiting) {
        clearInterval(this.poller);
        this.poller = undefined;
      } else if (this.changed()) this.notify();
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

/** The embedded log's follower: another process's commit shows in the reader's `PRAGMA data_version`. */
export class SqliteLogFollower extends LogFollower {
  constructor(reader: () => SqliteLogReader | undefined, pollIntervalMs: number) {
    super(() => reader()?.changed() ?? false, pollIntervalMs);
  }
}
