import Database from 'better-sqlite3';

/** The views database: disposable, rebuilt from the event store by replay. WAL so readers never block the runner. */
export function openViewsDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // A lost view commit is replayed from the checkpoint, so NORMAL durability is enough here.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
