/**
 * The production event store: EventStoreDB / KurrentDB over gRPC (@eventstore/db-client).
 *
 * - Positions are the $all {commit, prepare} pairs packed into one bigint (position.ts).
 * - System events never reach the port: types starting with `$` (filtered on the server for subscriptions)
 *   and every event of a `$` stream (skipped here: a server filter is on the type or the stream, not both).
 *   Links are not resolved.
 * - EventStoreDB's fromPosition is inclusive for reads; the port's `after` is exclusive, so the event at
 *   exactly `after` (and anything before it) is skipped here, for reads and subscriptions alike.
 * - Reads ask for the leader (`requiresLeader`): EndContact decides on what readStream gives, and append.ts reads
 *   back what it wrote, so a follower's stale copy must never answer. A follower then answers NotLeader, the
 *   client reconnects to the leader it names, and the read is asked again there (ClientHolder.use). Subscriptions
 *   may follow any node: they only feed views, which catch up.
 * - Appends are in append.ts.
 */
import {
  BACKWARDS,
  END,
  FORWARDS,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  type AllStreamResolvedEvent,
  type ReadPosition,
  type StreamingRead,
} from '@eventstore/db-client';
import {
  EventStoreUnavailableError,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadAllOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '../port.js';
import { appendToEsdb, type StreamReader } from './append.js';
import { ClientHolder, type EsdbClient } from './client-holder.js';
import { connectClient } from './connection-string.js';
import { mapEsdbError } from './errors.js';
import { isSystemEvent, toRecordedEvent, userEventsFilter } from './mapping.js';
import { decodePosition, encodePosition } from './position.js';

export type { EsdbClient } from './client-holder.js';

export interface EsdbEventStoreOptions {
  /** How long ping waits for an answer before calling the store unavailable. Default 5000 ms. */
  pingTimeoutMs?: number;
  /** $all events read per round trip by headPosition when it has to step over system events. Default 32. */
  backwardBatch?: number;
}

export class EsdbEventStore implements EventStore {
  private readonly clients: ClientHolder;
  private readonly pingTimeoutMs: number;
  private readonly backwardBatch: number;
  private readonly subscriptions = new Set<AbortController>();
  private closed = false;

  /**
   * @param connection an `esdb://`, `kurrentdb://` or `kdb://` connection string (InvalidConnectionStringError
   *   when it cannot be used), or a way to build a client; every client built is disposed by close().
   */
  constructor(connection: string | (() => EsdbClient), options: EsdbEventStoreOptions = {}) {
    this.clients = new ClientHolder(typeof connection === 'string' ? () => connectClient(connection) : connection);
    this.pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
    this.backwardBatch = Math.max(2, options.backwardBatch ?? 32);
  }

  async append(
    streamId: string,
    events: EventToAppend[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    if (events.length === 0) throw new RangeError('append needs at least one event');
    return appendToEsdb(this.clients, this.read, streamId, events, options.expectedRevision);
  }

  /** A stream read to the end, with the client's not-found and deleted answers as values. */
  private readonly read: StreamReader = async (streamId, options, operation) => {
    try {
      return await this.clients.use((c) =>
        this.drain(c.readStream(streamId, { ...options, requiresLeader: true }), operation),
      );
    } catch (error) {
      if (error instanceof StreamNotFoundError) return 'not_found';
      if (error instanceof StreamDeletedError) return 'deleted';
      throw error;
    }
  };

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    this.assertOpen();
    const resolved = await this.read(streamId, {}, `read ${streamId}`);
    // Soft-deleted streams are not found; tombstoned ones are deleted: either way, no events.
    if (!Array.isArray(resolved)) return [];
    return resolved.map(toRecordedEvent).filter((e): e is RecordedEvent => e !== undefined);
  }

  async readAll({ after, maxCount }: ReadAllOptions): Promise<RecordedEvent[]> {
    this.assertOpen();
    if (maxCount <= 0) return [];
    const page: RecordedEvent[] = [];
    // One more than asked: the first event may be the one at exactly `after` (inclusive start).
    const batch = maxCount + 1;
    let from: ReadPosition = after === undefined ? START : decodePosition(after);
    let floor = after ?? -1n;
    for (;;) {
      const start = from;
      const raw: AllStreamResolvedEvent[] = await this.clients.use((c) =>
        this.drain(
          c.readAll({ fromPosition: start, maxCount: batch, direction: FORWARDS, requiresLeader: true }),
          'read $all',
        ),
      );
      for (const resolved of raw) {
        if (resolved.event === undefined) continue;
        const position = encodePosition(resolved.event.position);
        if (position <= floor) continue;
        floor = position;
        from = resolved.event.position;
        if (isSystemEvent(resolved.event)) continue;
        const event = toRecordedEvent(resolved);
        if (event !== undefined) page.push(event);
        if (page.length >= maxCount) return page;
      }
      // A short read is the end of the log; a full one made progress (batch >= 2), so read on.
      if (raw.length < batch) return page;
    }
  }

  async headPosition(): Promise<bigint | undefined> {
    this.assertOpen();
    let from: ReadPosition = END;
    let ceiling: bigint | undefined;
    for (;;) {
      const start = from;
      const raw: AllStreamResolvedEvent[] = await this.clients.use((c) =>
        this.drain(
          c.readAll({ fromPosition: start, maxCount: this.backwardBatch, direction: BACKWARDS, requiresLeader: true }),
          'read $all backwards',
        ),
      );
      for (const resolved of raw) {
        if (resolved.event === undefined) continue;
        const position = encodePosition(resolved.event.position);
        if (ceiling !== undefined && position >= ceiling) continue;
        ceiling = position;
        from = resolved.event.position;
        if (!isSystemEvent(resolved.event)) return position;
      }
      if (raw.length < this.backwardBatch) return undefined;
    }
  }

  async ping(): Promise<void> {
    this.assertOpen();
    const { client, release } = this.clients.lease();
    const read = client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void read.cancel().catch(() => undefined);
        read.destroy();
        reject(new EventStoreUnavailableError(`EventStoreDB did not answer a ping within ${this.pingTimeoutMs} ms`));
      }, this.pingTimeoutMs);
    });
    try {
      await Promise.race([this.drain(read, 'ping'), timeout]);
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  async *subscribeToAll({ after, signal }: SubscribeOptions): AsyncIterable<RecordedEvent> {
    if (signal?.aborted || this.closed) return;
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.subscriptions.add(stop);
    const stopped = new Promise<'stopped'>((resolve) =>
      stop.signal.addEventListener('abort', () => resolve('stopped'), { once: true }),
    );

    const lease = this.clients.lease();
    const subscription = lease.client.subscribeToAll({
      fromPosition: after === undefined ? START : decodePosition(after),
      filter: userEventsFilter(),
    });
    const iterator = subscription[Symbol.asyncIterator]();
    let floor = after ?? -1n;
    try {
      for (;;) {
        const next = iterator.next();
        // Abandoned when the subscription stops first; its rejection is then of no interest.
        next.catch(() => undefined);
        let result: IteratorResult<AllStreamResolvedEvent> | 'stopped';
        try {
          result = await Promise.race([next, stopped]);
        } catch (error) {
          throw mapEsdbError(error, { operation: 'subscribe to $all' });
        }
        if (result === 'stopped') return;
        if (result.done) {
          if (stop.signal.aborted || this.closed) return;
          throw new EventStoreUnavailableError('EventStoreDB ended the $all subscription');
        }
        const resolved = result.value;
        if (resolved.event === undefined) continue;
        const position = encodePosition(resolved.event.position);
        if (position <= floor) continue;
        floor = position;
        if (isSystemEvent(resolved.event)) continue;
        const event = toRecordedEvent(resolved);
        if (event !== undefined) yield event;
        if (stop.signal.aborted) return;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.subscriptions.delete(stop);
      // Late errors of a stream we no longer read must not become unhandled 'error' events.
      subscription.on('error', () => undefined);
      void subscription.unsubscribe().catch(() => undefined);
      subscription.destroy();
      lease.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of this.subscriptions) subscription.abort();
    await this.clients.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('The event store is closed');
  }

  /** Reads a finite client stream to the end; errors come out mapped (the client's not-found and deleted errors stay as they are). */
  private async drain<E>(read: StreamingRead<E>, operation: string): Promise<E[]> {
    const out: E[] = [];
    try {
      for await (const item of read) out.push(item);
    } catch (error) {
      if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError) throw error;
      throw mapEsdbError(error, { operation });
    }
    // close() cancels the client's calls, and the client ends a cancelled read as if it were complete.
    if (this.closed)
      throw new EventStoreUnavailableError(`The event store was closed during ${operation}; the read is incomplete`);
    return out;
  }
}
