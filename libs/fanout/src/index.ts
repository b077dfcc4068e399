export * from './outcome-forwarder.js';
export * from './outcome-message.js';
export * from './checkpoint-topic.js';
export * from './topics.js';
export * from './republish.js';
