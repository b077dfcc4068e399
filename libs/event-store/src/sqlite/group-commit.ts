/**
 * Group commit, the write side of the embedded log. Runs in the store's worker thread, which owns the only write
 * connection of this process: the appends queued together share one transaction (one fsync), each in its own
 * savepoint so a conflict fails that append alone. The lock is taken without waiting (busy_timeout 0); while
 * another connection holds it the caller retries, so new appends keep joining the queue.
 *
 * An append answered as failed is never written (docs/decisions.md, Storage): one whose deadline passed before the
 * lock was taken is dropped, and when a statement's error makes SQLite roll back the whole transaction (SQLITE_FULL,
 * NOMEM, IOERR) every append of the group is answered as failed and nothing more runs outside a transaction.
 */
import Database from 'better-sqlite3';
import { WrongExpectedRevisionError, type AppendResult, type ExpectedRevision } from '../port.js';
import { EVENTS_SCHEMA, isLocked, type EventRow } from './schema.js';
import { WRITER_AUTOCHECKPOINT_PAGES } from './wal-checkpointer.js';

/** An event with its data and metadata already JSON text (serialised on the caller's thread). */
export type SerialisedEvent = { id: string; type: string; data: string; metadata: string };
export type AppendRequest = {
  id: number;
  streamId: string;
  events: SerialisedEvent[];
  expectedRevision: ExpectedRevision;
  deadline: number;
};

/** Errors cross the thread boundary as data and are rebuilt on the other side. */
export type AppendFailure =
  | { kind: 'conflict'; streamId: string; expected: ExpectedRevision; actual: bigint | 'no_stream' }
  | { kind: 'unavailable'; message: string }
  | { kind: 'invalid'; message: string };

export type AppendOutcome =
  { id: number; ok: true; result: AppendResult } | { id: number; ok: false; failure: AppendFailure };

export class GroupCommit {
  private readonly db: Database.Database;
  private readonly statements;

  /** Opening may wait for another process's lock (schema, WAL switch): bounded by `lockTimeoutMs`. */
  constructor(
    file: string,
    private readonly lockTimeoutMs: number,
  ) {
    this.db = new Database(file);
    this.db.pragma(`busy_timeout = ${lockTimeoutMs}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // Checkpoints run in another thread (WalCheckpointer), off the commit path; this is only the safety net.
    this.db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
    // Appends touch the right edges of the table and its indexes (v7 event IDs) and the streams they extend: 4 MB of
    // page cache holds them, where better-sqlite3's default is 16 MB per connection.
    this.db.pragma('cache_size = -4096');
    this.db.exec(EVENTS_SCHEMA);
    this.db.pragma('busy_timeout = 0');
    this.db.defaultSafeIntegers(true);
    this.statements = {
      lastRevision: this.db.prepare<[string], { revision: bigint }>(
        'SELECT MAX(revision) AS revision FROM events WHERE stream_id = ?',
      ),
      byEventId: this.db.prepare<[string], EventRow>('SELECT * FROM events WHERE event_id = ?'),
      insert: this.db.prepare(
        'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertAfter: this.db.prepare(
        `INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) SELECT ?, ?, ?, ?, ?, ?, ?
         WHERE EXISTS (SELECT 1 FROM events WHERE stream_id = ? AND revision = ?)`,
      ),
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      savepoint: this.db.prepare('SAVEPOINT append'),
      release: this.db.prepare('RELEASE append'),
      rollbackTo: this.db.prepare('ROLLBACK TO append'),
    };
  }

  /**
   * Commits the batch in one transaction; 'locked' when another connection holds the write lock (nothing written).
   * Once the lock is held, an append whose deadline has passed is answered unavailable and not written: its caller
   * is told so by this very answer, so a timeout never races a commit.
   */
  commit(batch: AppendRequest[]): AppendOutcome[] | 'locked' {
    const { begin, commit } = this.statements;
    try {
      begin.run();
    } catch (error) {
      if (isLocked(error)) return 'locked';
      return unavailable(batch, `SQLite could not begin: ${(error as Error).message}; nothing was written`);
    }
    const now = Date.now();
    const outcomes: AppendOutcome[] = [];
    try {
      for (const request of batch) {
        if (request.deadline <= now) {
          outcomes.push({ id: request.id, ok: false, failure: { kind: 'unavailable', message: this.expired() } });
          continue;
        }
        try {
          outcomes.push({ id: request.id, ok: true, result: this.append(request) });
        } catch (error) {
          // SQLite rolled the whole transaction back (SQLITE_FULL, NOMEM, IOERR…): the appends before this one are
          // undone too, and the next ones would run in autocommit. None of the group is written; all fail as one.
          if (!this.db.inTransaction)
            return unavailable(batch, `SQLite rolled back the group: ${(error as Error).message}; nothing was written`);
          outcomes.push({ id: request.id, ok: false, failure: failureOf(error) });
        }
      }
      commit.run();
    } catch (error) {
      this.rollBack();
      return unavailable(batch, `SQLite commit failed: ${(error as Error).message}; nothing was written`);
    }
    return outcomes;
  }

  /** Why an append whose deadline passed before the lock was taken fails (the same words as the worker's). */
  expired(): string {
    return `SQLite ${this.db.name} stayed locked by another connection for more than ${this.lockTimeoutMs} ms (STORE_TIMEOUT_MS); nothing was written`;
  }

  /**
   * Test hook: the most pages the database may grow to on this connection (`PRAGMA max_page_count`), so a test
   * reaches SQLITE_FULL on purpose. Returns the limit in force (never below the current size).
   */
  limitPages(pages: number): number {
    return Number(this.db.pragma(`max_page_count = ${Math.trunc(pages)}`, { simple: true }));
  }

  /** The database's size in pages, as `limitPages` counts it. */
  pageCount(): number {
    return Number(this.db.pragma('page_count', { simple: true }));
  }

  private rollBack(): void {
    if (!this.db.inTransaction) return;
    try {
      this.statements.rollback.run();
    } catch {
      // SQLite already undid what it could; the connection leaves the transaction either way.
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * One append inside the group's transaction; it fails alone. A single event needs no savepoint: every check runs
   * before its one INSERT, and a failed statement undoes only itself. Several events get one, so that a failure
   * after the first leaves nothing of the append behind.
   */
  private append(request: AppendRequest): AppendResult {
    const several = request.events.length > 1;
    const { savepoint, release, rollbackTo } = this.statements;
    if (several) savepoint.run();
    try {
      const result = this.write(request);
      if (several) release.run();
      return result;
    } catch (error) {
      // After a rollback of the whole transaction the savepoint is gone too: the caller sees the first error.
      if (!this.db.inTransaction) throw error;
      if (several) {
        rollbackTo.run();
        release.run();
      }
      // The same event IDs again: an idempotent retry answers the first write, whatever the stream did since.
      if (!(error instanceof WrongExpectedRevisionError) && !isConstraint(error)) throw error;
      const duplicate = this.alreadyWritten(request.streamId, request.events);
      if (duplicate) return duplicate;
      // A revision already taken: someone else wrote to the stream first.
      throw error instanceof WrongExpectedRevisionError
        ? error
        : this.conflict(request.streamId, request.expectedRevision);
    }
  }

  /**
   * The optimistic path. An exact expectation is checked by the inserts themselves: the first event goes in at the
   * expected revision + 1 only if the expected revision exists, and UNIQUE (stream_id, revision) refuses it when a
   * later one does; no_stream is revision 0. Only `any` and `stream_exists` read the stream's last revision first.
   * A known event ID fails on its UNIQUE index; the caller then tells a retry from a conflict.
   */
  private write({ streamId, events, expectedRevision }: AppendRequest): AppendResult {
    const { insert, insertAfter, lastRevision } = this.statements;
    let revision: bigint;
    if (expectedRevision === 'any' || expectedRevision === 'stream_exists') {
      const last = lastRevision.get(streamId)?.revision ?? null;
      if (expectedRevision === 'stream_exists' && last === null)
        throw new WrongExpectedRevisionError(streamId, expectedRevision, 'no_stream');
      revision = last ?? -1n;
    } else revision = expectedRevision === 'no_stream' ? -1n : expectedRevision;
    let position = 0n;
    const recordedAt = new Date().toISOString();
    for (const [i, event] of events.entries()) {
      revision += 1n;
      const values = [event.id, streamId, revision, event.type, event.data, event.metadata, recordedAt] as const;
      const info =
        i === 0 && typeof expectedRevision === 'bigint'
          ? insertAfter.run(...values, streamId, expectedRevision)
          : insert.run(...values);
      if (info.changes === 0) throw this.conflict(streamId, expectedRevision);
      position = BigInt(info.lastInsertRowid);
    }
    return { nextExpectedRevision: revision, position };
  }

  private conflict(streamId: string, expected: ExpectedRevision): WrongExpectedRevisionError {
    return new WrongExpectedRevisionError(
      streamId,
      expected,
      this.statements.lastRevision.get(streamId)?.revision ?? 'no_stream',
    );
  }

  /** Idempotent retry, as EventStoreDB does it: the same event IDs already in this stream write nothing. */
  private alreadyWritten(streamId: string, events: SerialisedEvent[]): AppendResult | undefined {
    const rows = events.map((e) => this.statements.byEventId.get(e.id));
    if (rows.every((row) => row === undefined)) return undefined;
    if (rows.every((row) => row !== undefined && row.stream_id === streamId)) {
      const last = rows[rows.length - 1]!;
      return { nextExpectedRevision: last.revision, position: last.position };
    }
    throw new WrongExpectedRevisionError(
      streamId,
      'any',
      this.statements.lastRevision.get(streamId)?.revision ?? 'no_stream',
    );
  }
}

/** Every append of `batch` failed as unavailable, nothing of it written, for `message`. */
export const unavailable = (batch: readonly Pick<AppendRequest, 'id'>[], message: string): AppendOutcome[] =>
  batch.map(({ id }) => ({ id, ok: false, failure: { kind: 'unavailable', message } }));

const isConstraint = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
};

function failureOf(error: unknown): AppendFailure {
  if (error instanceof WrongExpectedRevisionError)
    return { kind: 'conflict', streamId: error.streamId, expected: error.expected, actual: error.actual };
  return { kind: 'invalid', message: (error as Error).message };
}
