/**
 * A SQLite statement run without waiting: the connection has busy_timeout 0, so a held lock fails the statement at
 * once and it is retried from a timer (the thread keeps turning), up to `timeoutMs`; then the store is unavailable.
 */
import type Database from 'better-sqlite3';
import { backoffDelay, sleep } from '#runtime';
import { EventStoreUnavailableError } from '../port.js';
import { isLocked } from './schema.js';

/** Waits grow to 25 ms, as SQLite's own busy handler does. */
export const LOCKED_BACKOFF = { initialMs: 1, maxMs: 25 };

export function withoutWaiting<T>(db: Database.Database, query: () => T, timeoutMs: number): Promise<T> {
  // The common case costs one statement and one settled promise: no lock, no timer.
  if (db.open) {
    try {
      return Promise.resolve(query());
    } catch (error) {
      if (!isLocked(error)) return Promise.reject(failure(db, error));
    }
  }
  return retry(db, query, timeoutMs);
}

async function retry<T>(db: Database.Database, query: () => T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (!db.open) throw new EventStoreUnavailableError(`SQLite ${db.name} is closed`);
    try {
      return query();
    } catch (error) {
      if (!isLocked(error)) throw failure(db, error);
      if (Date.now() >= deadline) {
        throw new EventStoreUnavailableError(
          `SQLite ${db.name} stayed locked for more than ${timeoutMs} ms (STORE_TIMEOUT_MS)`,
          { cause: error },
        );
      }
      await sleep(backoffDelay(attempt + 1, LOCKED_BACKOFF));
    }
  }
}

const failure = (db: Database.Database, error: unknown): EventStoreUnavailableError =>
  new EventStoreUnavailableError(`SQLite read of ${db.name} failed: ${(error as Error).message}`, { cause: error });

/** Page cache of a connection that only reads the log (KB): another connection's commit empties it anyway. */
export const READ_CACHE_KB = 2_048;

/** A read connection that never waits for a lock and never writes. */
export function openReadConnection(Driver: typeof Database, file: string): Database.Database {
  const db = new Driver(file, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  db.pragma('query_only = ON');
  // Not better-sqlite3's 16 MB: each thread of the service holds one or two read connections.
  db.pragma(`cache_size = -${READ_CACHE_KB}`);
  return db;
}
