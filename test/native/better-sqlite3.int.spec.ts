import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import { HOOK_REMOVAL_SYMBOL, addonImportsHookRemoval } from '../../scripts/native/patch-better-sqlite3.mjs';

// better-sqlite3 12 on Node 24+: the postinstall patch (scripts/native/patch-better-sqlite3.mjs) keeps V8's collection
// of a statement during a worker thread's teardown from aborting the process.
describe('better-sqlite3 as built for this Node', () => {
  it(`does not import ${HOOK_REMOVAL_SYMBOL} (the call that aborts)`, () => {
    expect(addonImportsHookRemoval()).toBe(false);
  });

  it('survives 300 worker threads torn down with statements left to the garbage collector', () => {
    const run = spawnSync(process.execPath, [join(__dirname, 'worker-teardown.cjs'), '300'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: run.status, signal: run.signal, stderr: run.stderr.slice(0, 2000) }).toEqual({
      status: 0,
      signal: null,
      stderr: '',
    });
    expect(run.stdout.trim()).toBe('workers 300');
  }, 90_000);
});
