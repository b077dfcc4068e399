/**
 * Another process holding a SQLite write lock, as a second instance, a backup or an operator's sqlite3 shell does:
 * a child process opens the file, runs BEGIN IMMEDIATE, says LOCKED, and rolls back after `holdMs`, or, without
 * `holdMs`, when the test calls `release()`.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const DRIVER = require.resolve('better-sqlite3');

export type HeldLock = {
  /** Resolves once the holder has rolled back and exited. */
  released: Promise<void>;
  /** Rolls back now (a lock held without `holdMs` is held until this is called). */
  release(): Promise<void>;
};

export async function holdWriteLock(file: string, holdMs?: number): Promise<HeldLock> {
  // Without holdMs: released by a line on stdin, or when the test's process goes and its end of the pipe closes.
  const releaseAfter =
    holdMs === undefined
      ? `process.stdin.once('data', release); process.stdin.once('end', release);`
      : `setTimeout(release, ${holdMs});`;
  const script = `
    const db = new (require(${JSON.stringify(DRIVER)}))(${JSON.stringify(file)});
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('LOCKED\\n');
    const release = () => { db.exec('ROLLBACK'); db.close(); process.stdout.write('RELEASED\\n'); process.exit(0); };
    ${releaseAfter}`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const released = new Promise<void>((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`lock holder exited with ${code}: ${output}`)),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('LOCKED')) resolve();
    });
    released.catch(reject);
  });
  return {
    released,
    release() {
      if (child.exitCode === null) child.stdin.end('release\n');
      return released;
    },
  };
}
