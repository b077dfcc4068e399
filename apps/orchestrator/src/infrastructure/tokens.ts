/** Injection tokens: callers depend on ports, configuration picks the adapter. */
export const APP_CONFIG = Symbol('APP_CONFIG');
export const SECRETS = Symbol('SECRETS');
export const EVENT_STORE = Symbol('EVENT_STORE');
export const LOGGER = Symbol('LOGGER');
