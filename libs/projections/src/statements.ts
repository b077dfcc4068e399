import type Database from 'better-sqlite3';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** A prepared statement, prepared once per database: projections run the same few statements per event. */
export function statement<P extends unknown[] | object = unknown[], R = unknown>(
  db: Database.Database,
  sql: string,
): Database.Statement<P, R> {
  let perDb = cache.get(db);
  if (!perDb) cache.set(db, (perDb = new Map<string, Database.Statement>()));
  let prepared = perDb.get(sql);
  if (!prepared) perDb.set(sql, (prepared = db.prepare(sql)));
  return prepared as unknown as Database.Statement<P, R>;
}
