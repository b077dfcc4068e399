/** Injection tokens: callers depend on ports, configuration picks the adapter. */
export const APP_CONFIG = Symbol('APP_CONFIG');
export const SECRETS = Symbol('SECRETS');
export const EVENT_STORE = Symbol('EVENT_STORE');
/** What the event store's adapter offers beside the port (StoreCapabilities, event-store.provider.ts). */
export const STORE_CAPABILITIES = Symbol('STORE_CAPABILITIES');
export const LOGGER = Symbol('LOGGER');
