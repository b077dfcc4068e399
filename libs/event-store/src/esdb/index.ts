// The EventStoreDB adapter, its own entry: importing it loads @eventstore/db-client (~20 MB), so only EVENT_STORE=esdb does.
export { EsdbEventStore } from './esdb-event-store.js';
export {
  checkConnectionString,
  connectClient,
  InvalidConnectionStringError,
  toClientConnectionString,
} from './connection-string.js';
