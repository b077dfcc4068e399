export * from './subscription-runner.js';
export * from './contact-view.js';
export * from './directory-view.js';
export * from './views-database.js';
export * from './rebuild.js';
