/**
 * The embedded event store: one SQLite file (better-sqlite3), WAL, synchronous=FULL so a commit is on disk
 * before any answer. Appends queue up and are written by one transaction per tick (group commit): each append
 * runs in its own savepoint, so a conflict fails that append alone and the rest share one fsync.
 */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import {
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadAllOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '../port.js';

type Row = {
  position: bigint;
  event_id: string;
  stream_id: string;
  revision: bigint;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
};

type PendingAppend = {
  streamId: string;
  events: EventToAppend[];
  expectedRevision: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id    TEXT NOT NULL UNIQUE,
  stream_id   TEXT NOT NULL,
  revision    INTEGER NOT NULL,
  type        TEXT NOT NULL,
  data        TEXT NOT NULL,
  metadata    TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  UNIQUE (stream_id, revision)
);`;

export interface SqliteEventStoreOptions {
  /** Largest number of queued appends committed together. */
  maxBatch?: number;
}

export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly appended = new EventEmitter();
  private readonly maxBatch: number;
  private readonly statements;

  constructor(readonly file: string, options: SqliteEventStoreOptions = {}) {
    this.maxBatch = options.maxBatch ?? 256;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.db.defaultSafeIntegers(true);
    this.appended.setMaxListeners(0);
    this.statements = {
      lastRevision: this.db.prepare<[string], { revision: bigint }>('SELECT MAX(revision) AS revision FROM events WHERE stream_id = ?'),
      byEventId: this.db.prepare<[string], Row>('SELECT * FROM events WHERE event_id = ?'),
      insert: this.db.prepare(
        'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      readStream: this.db.prepare<[string], Row>('SELECT * FROM events WHERE stream_id = ? ORDER BY revision'),
      readAll: this.db.prepare<[bigint, number], Row>('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      head: this.db.prepare<[], { position: bigint | null }>('SELECT MAX(position) AS position FROM events'),
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      savepoint: this.db.prepare('SAVEPOINT append'),
      release: this.db.prepare('RELEASE append'),
      rollbackTo: this.db.prepare('ROLLBACK TO append'),
    };
  }

  append(streamId: string, events: EventToAppend[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new EventStoreUnavailableError('The event store is closed'));
    if (events.length === 0) return Promise.reject(new RangeError('append needs at least one event'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamId, events, expectedRevision: options.expectedRevision, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes every queued append in one transaction (one fsync), each in its own savepoint. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; result: AppendResult } | { ok: false; error: unknown }> = [];
    try {
      const { begin, commit, savepoint, release, rollbackTo } = this.statements;
      begin.run();
      for (const pending of batch) {
        savepoint.run();
        try {
          outcomes.push({ ok: true, result: this.write(pending) });
          release.run();
        } catch (error) {
          rollbackTo.run();
          release.run();
          outcomes.push({ ok: false, error });
        }
      }
      commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.statements.rollback.run();
      const unavailable = new EventStoreUnavailableError(`SQLite commit failed: ${(error as Error).message}`, { cause: error });
      for (const pending of batch) pending.reject(unavailable);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    });
    this.appended.emit('appended');
  }

  private write({ streamId, events, expectedRevision }: PendingAppend): AppendResult {
    const duplicate = this.alreadyWritten(streamId, events);
    if (duplicate) return duplicate;
    const last = this.statements.lastRevision.get(streamId)?.revision ?? null;
    const actual = last === null ? ('no_stream' as const) : last;
    const ok =
      expectedRevision === 'any' ||
      (expectedRevision === 'no_stream' && last === null) ||
      (expectedRevision === 'stream_exists' && last !== null) ||
      (typeof expectedRevision === 'bigint' && last === expectedRevision);
    if (!ok) throw new WrongExpectedRevisionError(streamId, expectedRevision, actual);
    let revision = last === null ? -1n : last;
    let position = 0n;
    const recordedAt = new Date().toISOString();
    for (const event of events) {
      revision += 1n;
      const info = this.statements.insert.run(
        event.id,
        streamId,
        revision,
        event.type,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
        recordedAt,
      );
      position = BigInt(info.lastInsertRowid);
    }
    return { nextExpectedRevision: revision, position };
  }

  /** Idempotent retry, as EventStoreDB does it: the same event IDs already in this stream write nothing. */
  private alreadyWritten(streamId: string, events: EventToAppend[]): AppendResult | undefined {
    const rows = events.map((e) => this.statements.byEventId.get(e.id));
    if (rows.every((row) => row === undefined)) return undefined;
    if (rows.every((row) => row !== undefined && row.stream_id === streamId)) {
      const last = rows[rows.length - 1]!;
      return { nextExpectedRevision: last.revision, position: last.position };
    }
    throw new WrongExpectedRevisionError(streamId, 'any', this.statements.lastRevision.get(streamId)?.revision ?? 'no_stream');
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    return this.guard(() => this.statements.readStream.all(streamId).map(toRecorded));
  }

  async readAll({ after, maxCount }: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.guard(() => this.statements.readAll.all(after ?? 0n, maxCount).map(toRecorded));
  }

  async headPosition(): Promise<bigint | undefined> {
    return this.guard(() => this.statements.head.get()?.position ?? undefined);
  }

  async ping(): Promise<void> {
    this.guard(() => this.statements.head.get());
  }

  async *subscribeToAll({ after, signal }: SubscribeOptions): AsyncIterable<RecordedEvent> {
    let cursor = after ?? 0n;
    while (!signal?.aborted && !this.closed) {
      // Register the wake-up before reading so an append between the read and the wait is not missed.
      const woken = this.nextAppend(signal);
      const page = await this.readAll({ after: cursor, maxCount: 500 });
      for (const event of page) {
        cursor = event.position;
        yield event;
        if (signal?.aborted) return;
      }
      if (page.length === 0) await woken.promise;
      // Reads are synchronous: yield to the event loop between pages so a long catch-up never starves requests.
      else await new Promise((resolve) => setImmediate(resolve));
      woken.cancel();
    }
  }

  private nextAppend(signal?: AbortSignal): { promise: Promise<void>; cancel: () => void } {
    let cancel = (): void => {};
    const promise = new Promise<void>((resolve) => {
      const done = (): void => {
        this.appended.off('appended', done);
        this.appended.off('closed', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.appended.on('appended', done);
      this.appended.on('closed', done);
      signal?.addEventListener('abort', done);
      cancel = done;
    });
    return { promise, cancel };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let queued appends finish first: nothing answered is lost, nothing is half-written.
    while (this.queue.length > 0 || this.flushScheduled) await new Promise((r) => setImmediate(r));
    this.closed = true;
    this.appended.emit('closed');
    this.db.close();
  }

  private guard<T>(read: () => T): T {
    if (this.closed) throw new EventStoreUnavailableError('The event store is closed');
    try {
      return read();
    } catch (error) {
      throw new EventStoreUnavailableError(`SQLite read failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

function toRecorded(row: Row): RecordedEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    type: row.type,
    data: JSON.parse(row.data) as Record<string, unknown>,
    metadata: JSON.parse(row.metadata) as RecordedEvent['metadata'],
    revision: BigInt(row.revision),
    position: BigInt(row.position),
    recordedAt: new Date(row.recorded_at),
  };
}
