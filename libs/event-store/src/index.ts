export * from './port.js';
export { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite/sqlite-event-store.js';
export { SqliteLogReader } from './sqlite/log-reader.js';
export { LogFollower, SqliteLogFollower } from './log-follower.js';
export { WalCheckpointer } from './sqlite/wal-checkpointer.js';
export { openReadConnection, READ_CACHE_KB, withoutWaiting } from './sqlite/non-blocking.js';
export { startWorker } from './worker-thread.js';
export { waitForPosition } from './wait-for-position.js';
// The client itself loads on first use, so configuration may check a connection string without it.
export {
  checkConnectionString,
  InvalidConnectionStringError,
  maskConnectionStrings,
} from './esdb/connection-string.js';
// Checked and masked without loading node-postgres (the adapter itself is #event-store/postgres).
export {
  checkPostgresUrl,
  InvalidPostgresUrlError,
  maskPostgresUrl,
  postgresConnectionString,
} from './postgres/connection.js';
