/**
 * The answers of keyed bulk ends, kept so that a retry with the same key answers the same (a filter batch: the
 * contacts it first chose). An `lru-cache` bounded by bytes, not only by count (docs/decisions.md, "Memory"): a
 * finished answer is kept as its JSON text in a Buffer, whose size is exact and which lies outside the JavaScript
 * heap, and past `maxBytes` (or `maxCount` answers) the batch least recently started, finished or retried is
 * forgotten first. An answer larger than `maxBytes` on its own is not kept. A forgotten key runs its batch again:
 * each end's command ID derives from the batch's, so ends already made are replayed and refusals already recorded
 * are not recorded twice.
 *
 * A batch still running is shared with its retries as a promise; its results are held by the request anyway, so it
 * counts only its entry's overhead.
 */
import { LRUCache } from 'lru-cache';
import type { EndContactBatchResult } from './end-contact-batch.command.js';

/** Heap per kept entry besides its JSON (the cache's slots, key string, Buffer object): `npm run memory:bounds`. */
export const ENTRY_OVERHEAD_BYTES = 400;

type Entry = Promise<EndContactBatchResult> | Buffer;

export class RememberedBatches {
  private readonly entries: LRUCache<string, Entry>;
  /** With `maxBytes` 0 no answer is kept, and a running batch is still shared (lru-cache reads 0 as no bound). */
  private readonly keepsAnswers: boolean;

  constructor(maxBytes: number, maxCount: number) {
    this.keepsAnswers = maxBytes > 0;
    this.entries = new LRUCache<string, Entry>({
      max: maxCount,
      ...(this.keepsAnswers
        ? {
            maxSize: maxBytes,
            sizeCalculation: (entry: Entry, key: string) =>
              (Buffer.isBuffer(entry) ? entry.byteLength : 0) + 2 * key.length + ENTRY_OVERHEAD_BYTES,
          }
        : {}),
    });
  }

  /** Bytes held (the JSON of finished answers and the overhead of every entry). */
  get bytes(): number {
    return this.entries.calculatedSize;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The answer remembered for `key` (running or finished), or undefined. */
  get(key: string): Promise<EndContactBatchResult> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || !Buffer.isBuffer(entry)) return entry;
    return Promise.resolve(JSON.parse(entry.toString('utf8')) as EndContactBatchResult);
  }

  /** A batch started under `key`: retries share it until it finishes. */
  running(key: string, answer: Promise<EndContactBatchResult>): void {
    this.entries.set(key, answer);
  }

  /**
   * The batch under `key` finished with `result`: kept as JSON, unless it was forgotten meanwhile; one too large
   * for `maxBytes` is not kept (lru-cache's `maxEntrySize`, which is `maxSize`, drops it).
   */
  finished(key: string, answer: Promise<EndContactBatchResult>, result: EndContactBatchResult): void {
    if (this.entries.peek(key) !== answer) return;
    if (!this.keepsAnswers) this.entries.delete(key);
    else this.entries.set(key, Buffer.from(JSON.stringify(result), 'utf8'));
  }

  /** The batch under `key` is not to be remembered (it failed, or met an unavailable store). */
  forget(key: string, answer: Promise<EndContactBatchResult>): void {
    if (this.entries.peek(key) === answer) this.entries.delete(key);
  }
}
