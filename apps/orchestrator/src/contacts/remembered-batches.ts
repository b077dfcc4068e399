/**
 * The answers of keyed bulk ends, kept so that a retry with the same key answers the same (a filter batch: the
 * contacts it first chose). Bounded by bytes, not only by count (docs/decisions.md, "Memory"): a finished answer is
 * kept as its JSON text in a Buffer, whose size is exact and which lies outside the JavaScript heap, and past
 * `maxBytes` (or `maxCount` answers) the oldest batch is forgotten first. An answer larger than `maxBytes` on its
 * own is not kept. A forgotten key runs its batch again: each end's command ID derives from the batch's, so ends
 * already made are replayed and refusals already recorded are not recorded twice.
 *
 * A batch still running is shared with its retries as a promise; its results are held by the request anyway.
 */
import type { EndContactBatchResult } from './end-contact-batch.command.js';

/** Heap per kept entry besides its JSON (map slot, key string, Buffer object): measured by `npm run memory:bounds`. */
export const ENTRY_OVERHEAD_BYTES = 400;

type Entry = Promise<EndContactBatchResult> | Buffer;

export class RememberedBatches {
  /** Insertion order is the order batches started: the first entry is forgotten first. */
  private readonly entries = new Map<string, Entry>();
  private kept = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxCount: number,
  ) {}

  /** Bytes held by finished answers (their JSON and the overhead of each entry). */
  get bytes(): number {
    return this.kept;
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
    this.remove(key);
    this.entries.set(key, answer);
    this.trim();
  }

  /** The batch under `key` finished with `result`: kept as JSON, unless it was forgotten meanwhile or is too large. */
  finished(key: string, answer: Promise<EndContactBatchResult>, result: EndContactBatchResult): void {
    if (this.entries.get(key) !== answer) return;
    const json = Buffer.from(JSON.stringify(result), 'utf8');
    const size = sizeOf(key, json);
    if (size > this.maxBytes) {
      this.entries.delete(key);
      return;
    }
    // Set on an existing key keeps its place: the batch stays as old as when it started.
    this.entries.set(key, json);
    this.kept += size;
    this.trim();
  }

  /** The batch under `key` is not to be remembered (it failed, or met an unavailable store). */
  forget(key: string, answer: Promise<EndContactBatchResult>): void {
    if (this.entries.get(key) === answer) this.entries.delete(key);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    if (Buffer.isBuffer(entry)) this.kept -= sizeOf(key, entry);
    this.entries.delete(key);
  }

  private trim(): void {
    while (this.entries.size > this.maxCount || this.kept > this.maxBytes)
      this.remove(this.entries.keys().next().value!);
  }
}

const sizeOf = (key: string, json: Buffer): number => json.byteLength + 2 * key.length + ENTRY_OVERHEAD_BYTES;
