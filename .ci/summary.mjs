// Prints every skipped test with its file, so a suite that could not run here (no Docker, no EventStoreDB) is named,
// not silently green, then ONE closing line CI reads: "<label>: N passed, N failed, N skipped (suites: N passed, N failed)".
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [file, label = `node ${process.version}`] = process.argv.slice(2);
const report = JSON.parse(readFileSync(file, 'utf8'));
const skipped = new Map();
for (const suite of report.testResults ?? []) {
  for (const test of suite.assertionResults ?? []) {
    if (test.status === 'skipped' || test.status === 'pending' || test.status === 'todo') {
      const name = relative(process.cwd(), suite.name);
      skipped.set(name, (skipped.get(name) ?? 0) + 1);
    }
  }
}
if (skipped.size > 0) {
  console.log('\nSkipped suites (their SKIPPED lines above give the reason):');
  for (const [name, count] of skipped) console.log(`  ${name}: ${count} skipped`);
}
// Failed suites and tests are named (with the first line of the message), prefixed "  FAILED ", so the run's summary
// at the very end of the log says what broke, not just how many.
for (const suite of report.testResults ?? []) {
  const name = relative(process.cwd(), suite.name);
  const failedTests = (suite.assertionResults ?? []).filter((test) => test.status === 'failed');
  for (const test of failedTests) {
    const message = String(test.failureMessages?.[0] ?? '')
      .split('\n')[0]
      .slice(0, 200);
    console.log(`  FAILED ${name} > ${test.fullName ?? test.title}: ${message}`);
  }
  if (suite.status === 'failed' && failedTests.length === 0) {
    console.log(
      `  FAILED ${name} (suite): ${String(suite.message ?? '')
        .split('\n')[0]
        .slice(0, 200)}`,
    );
  }
}
const pending = report.numPendingTests + (report.numTodoTests ?? 0);
console.log(
  `${label}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${pending} skipped ` +
    `(suites: ${report.numPassedTestSuites} passed, ${report.numFailedTestSuites} failed)`,
);
