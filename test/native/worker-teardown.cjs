// Starts short-lived worker threads that prepare statements, keep some and leave the rest as garbage, then exit.
// With better-sqlite3 12 unpatched on Node 24+, V8 collects a Statement during a worker's teardown and Node aborts
// (exit 134, "Assertion failed: (env) != nullptr"): seen within 150 to 200 workers on the build machine.
const { Worker, isMainThread, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');

if (isMainThread) {
  const total = Number(process.argv[2] ?? 300);
  let started = 0;
  let ended = 0;
  const start = () => {
    started += 1;
    new Worker(__filename, { workerData: { statements: 2000 } }).on('exit', () => {
      ended += 1;
      if (started < total) start();
      else if (ended === total) console.log(`workers ${ended}`);
    });
  };
  start();
  start();
} else {
  const db = new Database(':memory:');
  const kept = [];
  for (let i = 0; i < workerData.statements; i++) {
    const statement = db.prepare(`select ${i}`);
    statement.get();
    if (i % 3 === 0) kept.push(statement);
  }
  globalThis.kept = kept;
  process.exit(0);
}
