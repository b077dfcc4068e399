import Database from 'better-sqlite3';

/**
 * The views database, write side (the views worker): disposable, rebuilt from the event store by replay. WAL so
 * readers never block the writer; waiting for another process's lock is bounded by `lockTimeoutMs`, and happens in
 * the worker, never on the service's event loop.
 */
export function openViewsDatabase(file: string, lockTimeoutMs = 5_000): Database.Database {
  const db = new Database(file);
  db.pragma(`busy_timeout = ${lockTimeoutMs}`);
  db.pragma('journal_mode = WAL');
  // A lost view commit is replayed from the checkpoint, so NORMAL durability is enough here.
  db.pragma('synchronous = NORMAL');
  // 8 MB of page cache (better-sqlite3's default is 16 MB per connection, and as much again for the attached log).
  db.pragma('cache_size = -8192');
  return db;
}
