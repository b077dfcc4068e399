export * from './subscription.js';
export { BatchReader } from './batch-reader.js';
