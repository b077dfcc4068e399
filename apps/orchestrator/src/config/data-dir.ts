/**
 * DATA_DIR holds the event log, the views and the embedded secrets: only the service's user may read it. The folder
 * is made 0700 and every file the service owns in it 0600 (files of an older version included); the umask set at
 * start (bootstrap) makes the files created later, SQLite's WAL and SHM files among them, 0600 too.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;
/** Group and others get nothing on anything the service creates. */
export const SERVICE_UMASK = 0o077;

export function prepareDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
  const uid = process.getuid?.();
  const owned = (stat: { uid: number }): boolean => uid === undefined || stat.uid === uid;
  const dir = lstatSync(dataDir);
  if (owned(dir) && (dir.mode & 0o077) !== 0) chmodSync(dataDir, DATA_DIR_MODE);
  for (const name of readdirSync(dataDir)) {
    const path = join(dataDir, name);
    const stat = lstatSync(path);
    // A symlink is never followed; a file of another user is left alone; an open secrets.json is refused, not repaired.
    if (name !== 'secrets.json' && stat.isFile() && owned(stat) && (stat.mode & 0o077) !== 0) chmodSync(path, DATA_FILE_MODE);
  }
}
