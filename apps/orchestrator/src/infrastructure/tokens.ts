/** Injection tokens: callers depend on ports, configuration picks the adapter. */
export const APP_CONFIG = Symbol('APP_CONFIG');
export const SECRETS = Symbol('SECRETS');
export const EVENT_STORE = Symbol('EVENT_STORE');
/** The embedded log's own access (EmbeddedLog), or null when the store has none (EventStoreDB). */
export const EMBEDDED_LOG = Symbol('EMBEDDED_LOG');
export const LOGGER = Symbol('LOGGER');
