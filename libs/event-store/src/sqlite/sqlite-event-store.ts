/**
 * The embedded event store: one SQLite file (better-sqlite3), WAL, synchronous=FULL so a commit is on disk before
 * any answer. Nothing here makes the event loop wait on a lock or an fsync:
 * - appends go to a worker thread that owns the write connection and commits each group in one transaction;
 * - reads run on this thread over a WAL read connection that never waits (see SqliteLogReader).
 * Subscriptions wake on this process's commits at once, and see other processes' commits by polling.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import {
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EmbeddedLog,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadAllOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '../port.js';
import { startWorker } from '../worker-thread.js';
import type { AppendFailure, AppendRequest, SerialisedEvent } from './group-commit.js';
import { SqliteLogFollower } from '../log-follower.js';
import { SqliteLogReader } from './log-reader.js';
import type { FromStoreWorker, StoreWorkerData, ToStoreWorker } from './store-worker.js';
import { decodeOutcomes, encodeRequests } from './wire.js';

export interface SqliteEventStoreOptions {
  /** Largest number of queued appends committed together. Default 256. */
  maxBatch?: number;
  /** Longest wait for a lock held by another connection before an append or read fails as unavailable. Default 5000. */
  storeTimeoutMs?: number;
  /** How often an idle subscription checks for commits by other processes. Default 50 ms. */
  pollIntervalMs?: number;
}

type Pending = { resolve: (result: AppendResult) => void; reject: (error: unknown) => void };

export class SqliteEventStore implements EventStore {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private reader: SqliteLogReader | undefined;
  private readonly pending = new Map<number, Pending>();
  private outbox: AppendRequest[] = [];
  private nextId = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private stopped: EventStoreUnavailableError | undefined;
  /** Settles when the writer thread has exited, whether asked to (close) or not (a crash): shutdown waits on it. */
  private readonly writerExited: Promise<void>;
  private readonly failedWith: Promise<EventStoreUnavailableError>;
  private fail: (error: EventStoreUnavailableError) => void = () => undefined;
  private readonly follower: SqliteLogFollower;
  private readonly storeTimeoutMs: number;

  constructor(
    readonly file: string,
    options: SqliteEventStoreOptions = {},
  ) {
    this.storeTimeoutMs = options.storeTimeoutMs ?? 5_000;
    this.follower = new SqliteLogFollower(() => this.reader, options.pollIntervalMs ?? 50);
    const data: StoreWorkerData = { file, maxBatch: options.maxBatch ?? 256, storeTimeoutMs: this.storeTimeoutMs };
    this.worker = startWorker(import.meta.url, 'store-worker', data);
    this.writerExited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.failedWith = new Promise<EventStoreUnavailableError>((resolve) => (this.fail = resolve));
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.once('error', reject);
      this.worker.once('exit', (code) =>
        reject(new EventStoreUnavailableError(`SQLite writer stopped (exit code ${code}) before opening ${file}`)),
      );
      this.worker.on('message', (message: FromStoreWorker) => {
        if (message.kind === 'ready') {
          this.reader = new SqliteLogReader(file, this.storeTimeoutMs);
          resolve();
        } else if (message.kind === 'failed')
          reject(new EventStoreUnavailableError(`SQLite event store: ${message.message}`));
        else this.onWorkerMessage(message);
      });
    });
    this.ready.catch(() => undefined);
    this.worker.on('error', (error) =>
      this.writerStopped(new EventStoreUnavailableError(`SQLite writer stopped: ${error.message}`, { cause: error })),
    );
    this.worker.on('exit', (code) =>
      this.writerStopped(new EventStoreUnavailableError(`SQLite writer stopped (exit code ${code})`)),
    );
  }

  /**
   * Why the writer thread stopped without being asked to (it crashed or was terminated), or undefined while it runs.
   * From then on every append fails with this error and ping() throws it, so /health reports the store down.
   */
  get failure(): EventStoreUnavailableError | undefined {
    return this.closing ? undefined : this.stopped;
  }

  /** Resolves when the writer thread stops without being asked to (see `failure`); never once close() is called. */
  failed(): Promise<EventStoreUnavailableError> {
    return this.failedWith;
  }

  /**
   * A port told 'commit' after each commit of this process, straight from the writer thread: hand it to a follower
   * in another thread (the views) so that waking it costs this event loop nothing. Other processes' commits are
   * seen by polling.
   */
  embeddedLog(): EmbeddedLog {
    return this;
  }

  async commitNotifications(): Promise<MessagePort> {
    await this.ready;
    const { port1, port2 } = new MessageChannel();
    this.worker.postMessage({ kind: 'follow', port: port1 } satisfies ToStoreWorker, [port1]);
    return port2;
  }

  /** Resolves once the file is open and its schema in place; rejects when it cannot be opened. */
  opened(): Promise<void> {
    return this.ready;
  }

  append(
    streamId: string,
    events: EventToAppend[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (this.closed || this.closing) return Promise.reject(new EventStoreUnavailableError('The event store is closed'));
    if (this.stopped) return Promise.reject(this.stopped);
    if (events.length === 0) return Promise.reject(new RangeError('append needs at least one event'));
    // Serialised here, so data JSON cannot hold fails this append alone, synchronously, before anything is queued.
    let serialised: SerialisedEvent[];
    try {
      serialised = events.map((e) => ({
        id: e.id,
        type: e.type,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata),
      }));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.outbox.push({
        id,
        streamId,
        events: serialised,
        expectedRevision: options.expectedRevision,
        deadline: Date.now() + this.storeTimeoutMs,
      });
      // One message per turn of the loop: every append queued in this turn travels (and commits) together.
      if (this.outbox.length === 1) setImmediate(() => this.send());
    });
  }

  readStream(streamId: string): Promise<RecordedEvent[]> {
    return this.read((reader) => reader.readStream(streamId));
  }

  readAll({ after, maxCount }: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.read((reader) => reader.readAll(after ?? 0n, maxCount));
  }

  headPosition(): Promise<bigint | undefined> {
    return this.read((reader) => reader.head());
  }

  /**
   * The position of the newest event of these streams (one index lookup), undefined when none of them exists: streams
   * folded up to it are unchanged while it stays the same, every process's appends included. Not in the port.
   */
  newestPositionOf(streamIds: readonly string[]): Promise<bigint | undefined> {
    return this.read((reader) => reader.newestPositionOf(streamIds));
  }

  /** Throws while the writer thread is stopped: reads would still work, but nothing can be written. */
  async ping(): Promise<void> {
    if (this.stopped && !this.closing) throw this.stopped;
    await this.read((reader) => reader.head());
  }

  async *subscribeToAll({ after, signal }: SubscribeOptions): AsyncIterable<RecordedEvent> {
    for await (const page of this.follow((cursor) => this.readAll({ after: cursor, maxCount: 500 }), after, signal))
      yield* page;
  }

  /** Pages of the log as its commits land (see SqliteLogFollower); ends when `signal` aborts or the store closes. */
  follow<E extends { position: bigint }>(
    readPage: (after: bigint) => Promise<E[]>,
    after: bigint | undefined,
    signal?: AbortSignal,
  ): AsyncIterable<E[]> {
    return this.follower.follow(readPage, after ?? 0n, signal);
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // Queued appends finish first: nothing answered is lost, nothing is half-written.
    if (this.outbox.length > 0) this.send();
    while (this.pending.size > 0) await new Promise((r) => setTimeout(r, 1));
    this.closed = true;
    this.follower.close();
    this.reader?.close();
    try {
      await this.ready;
    } catch {
      return;
    }
    // The writer closes last: as the last connection it checkpoints the WAL into the database file. If it has
    // exited already (a crash), there is nothing to wait for: SQLite recovers the WAL at the next open.
    this.post({ kind: 'close' });
    await this.writerExited;
  }

  /** Reads at once once the file is open (the command path), after opening otherwise. */
  private read<T>(query: (reader: SqliteLogReader) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new EventStoreUnavailableError('The event store is closed'));
    if (this.reader) return query(this.reader);
    return this.ready.then(() => query(this.reader!));
  }

  private send(): void {
    const requests = this.outbox;
    this.outbox = [];
    // A stopped writer reads nothing: these appends were failed (failAll) when it stopped.
    if (requests.length > 0 && !this.stopped) this.post({ kind: 'append', requests: encodeRequests(requests) });
  }

  private post(message: ToStoreWorker): void {
    this.worker.postMessage(message);
  }

  private onWorkerMessage(message: FromStoreWorker): void {
    if (message.kind !== 'settled') return;
    let committed = false;
    for (const outcome of decodeOutcomes(message.outcomes)) {
      const pending = this.pending.get(outcome.id);
      if (!pending) continue;
      this.pending.delete(outcome.id);
      if (outcome.ok) {
        committed = true;
        pending.resolve(outcome.result);
      } else pending.reject(errorOf(outcome.failure));
    }
    if (committed) this.follower.notify();
  }

  /** The writer thread is gone (it could not open the file, or crashed): every append fails from now on. */
  private writerStopped(error: EventStoreUnavailableError): void {
    if (!this.stopped) {
      this.stopped = error;
      if (!this.closing) this.fail(error);
    }
    this.failAll(error);
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

function errorOf(failure: AppendFailure): Error {
  switch (failure.kind) {
    case 'conflict':
      return new WrongExpectedRevisionError(failure.streamId, failure.expected, failure.actual);
    case 'unavailable':
      return new EventStoreUnavailableError(failure.message);
    case 'invalid':
      return new EventStoreUnavailableError(`SQLite append failed: ${failure.message}`);
  }
}
