export * from './port.js';
export { SqliteEventStore } from './sqlite/sqlite-event-store.js';
export { waitForPosition } from './wait-for-position.js';
