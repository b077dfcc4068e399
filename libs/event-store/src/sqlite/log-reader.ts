/**
 * Reads of the embedded log that never make the calling thread wait: in WAL mode a read needs no lock, and in the
 * rare case one is held (recovery, an exclusive checkpoint by another process) the read is retried from a timer
 * (see withoutWaiting). Past `storeTimeoutMs` the store is reported unavailable.
 */
import Database from 'better-sqlite3';
import type { RecordedEvent } from '../port.js';
import { openReadConnection, withoutWaiting } from './non-blocking.js';
import { toRecorded, type EventRow } from './schema.js';

export class SqliteLogReader {
  private readonly db: Database.Database;
  private readonly statements;
  private lastDataVersion = -1n;
  /** `newestPositionOf` statements by number of streams (one or two in practice). */
  private readonly newest = new Map<number, Database.Statement<string[], bigint | null>>();

  constructor(
    readonly file: string,
    private readonly storeTimeoutMs: number,
  ) {
    this.db = openReadConnection(Database, file);
    this.db.defaultSafeIntegers(true);
    this.statements = {
      readStream: this.db.prepare<[string], EventRow>('SELECT * FROM events WHERE stream_id = ? ORDER BY revision'),
      readAll: this.db.prepare<[bigint, number], EventRow>(
        'SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?',
      ),
      head: this.db.prepare<[], { position: bigint | null }>('SELECT MAX(position) AS position FROM events'),
      dataVersion: this.db.prepare<[], bigint>('PRAGMA data_version').pluck(true),
    };
  }

  readStream(streamId: string): Promise<RecordedEvent[]> {
    return this.read(() => this.statements.readStream.all(streamId).map(toRecorded));
  }

  readAll(after: bigint, maxCount: number): Promise<RecordedEvent[]> {
    return this.read(() => this.statements.readAll.all(after, maxCount).map(toRecorded));
  }

  /** From the (stream_id, revision) index alone: the index holds each row's position. */
  newestPositionOf(streamIds: readonly string[]): Promise<bigint | undefined> {
    if (streamIds.length === 0) return Promise.resolve(undefined);
    let statement = this.newest.get(streamIds.length);
    if (!statement) {
      statement = this.db
        .prepare<string[], bigint | null>(
          `SELECT MAX(position) FROM events WHERE stream_id IN (${streamIds.map(() => '?').join(', ')})`,
        )
        .pluck(true);
      this.newest.set(streamIds.length, statement);
    }
    const query = statement;
    return this.read(() => query.get(...streamIds) ?? undefined);
  }

  head(): Promise<bigint | undefined> {
    return this.read(() => this.statements.head.get()?.position ?? undefined);
  }

  /** True when some connection (this process's writer, or another process) committed since the last call. */
  changed(): boolean {
    try {
      const version = this.statements.dataVersion.get()!;
      const changed = version !== this.lastDataVersion;
      this.lastDataVersion = version;
      return changed;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private read<T>(query: () => T): Promise<T> {
    return withoutWaiting(this.db, query, this.storeTimeoutMs);
  }
}
