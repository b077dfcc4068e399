/**
 * One subscription mechanism for every follower of the log (the views, the Kafka forwarder), in Eventuous' shape:
 * a source of event batches, a handler that does the work, and a checkpoint committed after the work — here in the
 * same transaction as the work (SQLite rows, or a Kafka transaction), so a crash never leaves one without the other.
 *
 * On any failure the subscription drops what the handler opened, waits (doubling backoff), asks the handler for its
 * committed checkpoint again and resubscribes right after it: nothing skipped, nothing applied twice.
 */
import { EventEmitter } from 'node:events';
import { waitForPosition } from '#event-store';
import { backoffDelay, settlesWithin, sleep, type Log } from '#runtime';
import { BatchReader } from './batch-reader.js';

/** Batches of the log strictly after `after` (undefined: from the start), in order, until `signal` aborts. */
export type EventBatches<E> = (after: bigint | undefined, signal: AbortSignal) => AsyncIterable<E[]>;

export interface CheckpointedHandler<E> {
  /** Opens what the work needs and returns the committed checkpoint to resume after (undefined: the log's start). */
  resume(signal: AbortSignal): Promise<bigint | undefined>;
  /** Does the work for one batch and commits the checkpoint after its last event together with it. */
  handle(batch: E[]): Promise<void> | void;
  /** Drops what resume opened: after a failure, and at stop. */
  release?(): Promise<void>;
}

export interface SubscriptionOptions {
  logger: Log;
  /** Retry delays after a failure: doubling from initialMs up to maxMs. Default 200 → 5 000 ms. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How long stop() lets the batch in hand finish. Default 10 000 ms. */
  stopTimeoutMs?: number;
  /** Called on each failure before the pause; return false to log it yourself. */
  onFailure?: (error: unknown, attempt: number, delayMs: number) => boolean | void;
  /** Called when a (re)subscription runs, with the number of failed attempts before it. */
  onRunning?: (after: bigint | undefined, failedAttempts: number) => void;
}

export type SubscriptionState = 'stopped' | 'starting' | 'running' | 'retrying';

export class Subscription<E extends { position: bigint }> {
  private readonly commits = new EventEmitter();
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private currentState: SubscriptionState = 'stopped';
  private position: bigint | undefined;
  private error: string | undefined;
  private failed = 0;

  constructor(
    readonly name: string,
    private readonly source: EventBatches<E>,
    private readonly handler: CheckpointedHandler<E>,
    private readonly options: SubscriptionOptions,
  ) {
    this.commits.setMaxListeners(0);
  }

  get state(): SubscriptionState {
    return this.currentState;
  }

  /** The position of the last event whose work is committed, or undefined before the first. */
  get checkpoint(): bigint | undefined {
    return this.position;
  }

  get lastError(): string | undefined {
    return this.error;
  }

  start(): void {
    if (this.loop) return;
    this.currentState = 'starting';
    this.controller = new AbortController();
    this.loop = this.run(this.controller.signal).catch((error: unknown) =>
      this.options.logger.error({ err: error }, `${this.name}: subscription loop ended unexpectedly`),
    );
  }

  /** Lets the batch in hand finish (bounded by stopTimeoutMs), then releases the handler. */
  async stop(): Promise<boolean> {
    const loop = this.loop;
    if (!loop) return true;
    this.controller!.abort();
    const finished = await settlesWithin(loop, this.options.stopTimeoutMs ?? 10_000);
    await this.handler.release?.();
    // A batch stuck past the timeout usually fails once its connection is dropped.
    if (!finished) await settlesWithin(loop, 5_000);
    this.loop = undefined;
    this.currentState = 'stopped';
    return finished;
  }

  /** Called after each committed batch with its last position and the batch. */
  onCommit(listener: (position: bigint, batch: E[]) => void): () => void {
    this.commits.on('commit', listener);
    return () => this.commits.off('commit', listener);
  }

  /** Resolves true once the work up to `position` (or later) is committed; false on timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    return waitForPosition(this.position, position, (listener) => this.onCommit(listener), timeoutMs);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { initialMs = 200, maxMs = 5_000 } = this.options.backoff ?? {};
    while (!signal.aborted) {
      const batches = new AbortController();
      const stop = (): void => batches.abort();
      signal.addEventListener('abort', stop);
      try {
        const after = await this.handler.resume(signal);
        if (signal.aborted) break;
        this.position = after;
        this.currentState = 'running';
        this.options.onRunning?.(after, this.failed);
        this.failed = 0;
        this.error = undefined;
        for await (const batch of this.source(after, batches.signal)) {
          if (signal.aborted || batch.length === 0) continue;
          await this.handler.handle(batch);
          const last = batch[batch.length - 1]!.position;
          this.position = last;
          this.commits.emit('commit', last, batch);
        }
      } catch (error) {
        if (signal.aborted) break;
        this.failed += 1;
        const delay = backoffDelay(this.failed, { initialMs, maxMs });
        this.currentState = 'retrying';
        this.error = error instanceof Error ? error.message : String(error);
        if (this.options.onFailure?.(error, this.failed, delay) !== false) this.logFailure(error, delay);
        await this.handler.release?.();
        await sleep(delay, signal);
      } finally {
        signal.removeEventListener('abort', stop);
        batches.abort();
      }
    }
  }

  /** A long outage logs its first attempts, then every tenth, not a line every few seconds. */
  private logFailure(error: unknown, delay: number): void {
    const message = `${this.name}: ${this.error}; resuming from the committed checkpoint in ${delay} ms (attempt ${this.failed})`;
    if (this.failed === 1) this.options.logger.error({ err: error }, message);
    else if (this.failed <= 5 || this.failed % 10 === 0) this.options.logger.warn(message);
  }
}

/** Groups a source of single events into batches (see BatchReader): up to `max`, lingering `lingerMs` for more. */
export function batchesOf<E>(
  events: (after: bigint | undefined, signal: AbortSignal) => AsyncIterable<E>,
  max: number,
  lingerMs: number,
): EventBatches<E> {
  return async function* (after, signal) {
    const reader = new BatchReader(events(after, signal)[Symbol.asyncIterator]());
    for (;;) {
      const batch = await reader.next(max, lingerMs);
      if (!batch) return;
      yield batch;
    }
  };
}
