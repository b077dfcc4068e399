export * from './media-type.js';
export * from './events.js';
export * from './contact.js';
export * from './studio-action.js';
