export * from './events.js';
export * from './directory.js';
export * from './caller.js';
export * from './credentials.js';
export * from './verified-security-users.js';
export * from './key-ring.js';
export * from './identity-provider.js';
