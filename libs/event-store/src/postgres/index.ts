// The PostgreSQL adapter, its own entry: only EVENT_STORE=postgres loads node-postgres.
export { PostgresEventStore, type PostgresEventStoreOptions, NOTIFY_CHANNEL } from './postgres-event-store.js';
export { checkPostgresUrl, InvalidPostgresUrlError, maskPostgresUrl, postgresConnectionString } from './connection.js';
export { SCHEMA_VERSION } from './schema.js';
