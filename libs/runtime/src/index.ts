export * from './log.js';
export * from './retry.js';
