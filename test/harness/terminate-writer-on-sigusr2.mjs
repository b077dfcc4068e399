/**
 * Test-only fault, loaded into a service process by an end-to-end test (`node --import`, never by the service or
 * the image): on SIGUSR2 it terminates the SQLite writer thread, as a crash of that thread would end it. It only
 * records the worker threads the service creates; nothing else of the service is changed.
 */
import { syncBuiltinESMExports } from 'node:module';
import workerThreads from 'node:worker_threads';

const created = [];
const { Worker } = workerThreads;
workerThreads.Worker = class extends Worker {
  constructor(script, options) {
    super(script, options);
    created.push({ script: String(script), worker: this });
  }
};
syncBuiltinESMExports();

process.on('SIGUSR2', () => {
  for (const { script, worker } of created) if (/\/store-worker\.js$/.test(script)) void worker.terminate();
});
