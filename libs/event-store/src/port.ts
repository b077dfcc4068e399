/**
 * The EventStore port. The service depends on this, adapters implement it (SQLite embedded,
 * EventStoreDB in production). Every adapter passes the one contract suite in event-store.contract.ts.
 *
 * Positions are global, strictly increasing across all streams, and opaque: a bigint so that EventStoreDB's
 * {commit, prepare} pair fits without loss. Serialise them as decimal strings at the edges.
 */
import type { MessagePort } from 'node:worker_threads';

/** Metadata carried by every event (docs/design.md, Events). */
export interface EventMetadata {
  commandId?: string;
  correlationId: string;
  causationId: string;
  source: 'http' | 'studio-action' | 'kafka' | 'system';
  schemaVersion: number;
  [key: string]: unknown;
}

export interface EventToAppend {
  /** UUID chosen by the writer, never reused in another stream; what it deduplicates is said at EventStore.append. */
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
}

export interface RecordedEvent {
  id: string;
  streamId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  /** 0-based index of the event within its stream. */
  revision: bigint;
  /** Global position in the log. */
  position: bigint;
  recordedAt: Date;
}

/**
 * - 'any': no check
 * - 'no_stream': the stream must not exist
 * - 'stream_exists': the stream must exist
 * - bigint: the revision of the stream's last event must be exactly this
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface AppendResult {
  /** Revision of the last event written (pass it as expectedRevision next time). */
  nextExpectedRevision: bigint;
  /** Global position of the last event written. */
  position: bigint;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Omit to start at the beginning. */
  after?: bigint;
  maxCount: number;
}

export interface SubscribeOptions {
  /** Exclusive: deliver events strictly after this position. Omit to start at the beginning. */
  after?: bigint;
  /** Ends the subscription; the iterator then returns. */
  signal?: AbortSignal;
}

/**
 * What the embedded store (SqliteEventStore.embeddedLog()) offers beside the port: its file, read directly by the
 * views and the audit export (as stored text, never parsed into objects), and word from its writer thread after each
 * commit of this process. The service gives it to its callers as a capability of the store it opened.
 */
export interface EmbeddedLog {
  readonly file: string;
  commitNotifications(): Promise<MessagePort>;
}

export interface EventStore {
  /**
   * Appends atomically: all the events or none. Throws WrongExpectedRevisionError (StreamDeletedError when the
   * stream was deleted for good), EventStoreUnavailableError (nothing written; AppendOutcomeUnknownError when it
   * may have been), or TypeError when data or metadata cannot be written as JSON (nothing written).
   *
   * Idempotency, as far as every store keeps it: retrying an append with the same events (IDs, order) and the
   * same exact expected revision or 'no_stream' after it was written writes nothing and answers the first
   * write's nextExpectedRevision and position, even if the stream has moved on since. With 'any' or
   * 'stream_exists' a retry may write the events again (EventStoreDB checks those only against a bounded cache
   * of recent IDs, emptied by a restart or a leader change): a writer that must not write twice uses an exact
   * revision or 'no_stream'.
   */
  append(
    streamId: string,
    events: EventToAppend[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>;
  /** The stream's events in revision order; [] when it does not exist. */
  readStream(streamId: string): Promise<RecordedEvent[]>;
  /** A page of the global log in position order. */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catch-up then live: every event after `after`, in order, waking up on new appends. */
  subscribeToAll(options: SubscribeOptions): AsyncIterable<RecordedEvent>;
  /** The position of the last event in the log, or undefined when empty. */
  headPosition(): Promise<bigint | undefined>;
  /** Throws EventStoreUnavailableError when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The optimistic concurrency check failed: someone else wrote to the stream first. */
export class WrongExpectedRevisionError extends Error {
  override readonly name: string = 'WrongExpectedRevisionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision, or 'no_stream'. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Wrong expected revision on stream ${streamId}: expected ${String(expected)}, actual ${String(actual)}`);
  }
}

/** EventStoreDB's revision of a deleted stream (EventNumber.DeletedStream, long.MaxValue). */
export const DELETED_STREAM_REVISION = (1n << 63n) - 1n;

/**
 * The stream was deleted for good (an EventStoreDB tombstone) and can never be written again. A conflict, so
 * every caller that handles one (re-read, decide again, pick another ID) handles this too; the stream reads as
 * no events.
 */
export class StreamDeletedError extends WrongExpectedRevisionError {
  override readonly name: string = 'StreamDeletedError';
  constructor(streamId: string, expected: ExpectedRevision) {
    super(streamId, expected, DELETED_STREAM_REVISION);
    this.message = `Stream ${streamId} is deleted and cannot be written`;
  }
}

/**
 * The store cannot be reached or refused the operation for an infrastructure reason. Nothing was written,
 * except for an AppendOutcomeUnknownError, which says so.
 */
export class EventStoreUnavailableError extends Error {
  override readonly name: string = 'EventStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The store refused the service's user (a secure EventStoreDB cluster without the rights the service needs).
 * Nothing was written; the message says which right is missing. An operator's problem, answered like an
 * unavailable store.
 */
export class EventStoreAccessDeniedError extends EventStoreUnavailableError {
  override readonly name: string = 'EventStoreAccessDeniedError';
}

/**
 * An append failed after its request may have reached the store (a timeout, a connection lost mid-call), and
 * the store could not tell whether it landed. The events were written whole or not at all, and may still
 * land. Retrying the same events with the same exact expected revision (or 'no_stream') is safe: it writes
 * them once or finds them written (see EventStore.append).
 */
export class AppendOutcomeUnknownError extends EventStoreUnavailableError {
  override readonly name: string = 'AppendOutcomeUnknownError';
  constructor(
    readonly streamId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const positionToString = (p: bigint): string => p.toString(10);
export const positionFromString = (s: string): bigint => {
  if (!/^\d{1,40}$/.test(s)) throw new RangeError(`Not a position: ${JSON.stringify(s)}`);
  return BigInt(s);
};
