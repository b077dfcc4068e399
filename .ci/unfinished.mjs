// The test files of a Vitest JSON report that did not finish green: a failed test, or tests left pending because
// the file's worker process died. Printed one per line, relative to the repository, for one more run.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const suite of report.testResults ?? []) {
  const unfinished = suite.status === 'failed' || (suite.assertionResults ?? []).some((t) => t.status === 'failed' || t.status === 'pending');
  if (unfinished) console.log(relative(process.cwd(), suite.name));
}
