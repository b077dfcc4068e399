export * from './projection.js';
export * from './incoming-batch.js';
export * from './contact-view.js';
export * from './views-database.js';
export * from './views-host.js';
export * from './views-reader.js';
export type { ViewsSource } from './views-worker.js';
export * from './rebuild.js';
export * from './subscription/index.js';
