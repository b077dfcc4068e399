/**
 * Another process holding a SQLite write lock, as a second instance, a backup or an operator's sqlite3 shell does:
 * a child process opens the file, runs BEGIN IMMEDIATE, says LOCKED, and rolls back after `holdMs`.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const DRIVER = require.resolve('better-sqlite3');

export type HeldLock = { released: Promise<void> };

export async function holdWriteLock(file: string, holdMs: number): Promise<HeldLock> {
  const script = `
    const db = new (require(${JSON.stringify(DRIVER)}))(${JSON.stringify(file)});
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('LOCKED\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); process.stdout.write('RELEASED\\n'); }, ${holdMs});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  return { released };
}
