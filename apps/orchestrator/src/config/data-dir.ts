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

/** The files the service opens by name in DATA_DIR (SQLite follows a symlink; secrets.json has its own checks). */
const SERVICE_FILE = /^(events\.db|views(\.v\d+)?\.db)(-wal|-shm|-journal|\.next-.*)?$/;

/**
 * Makes DATA_DIR private, or refuses it (an Error naming the path: start-up exits 78). Refused: a DATA_DIR owned by
 * another user (whoever owns it can plant or swap files), any entry in it owned by another user (a planted
 * `events.db` is a forged log), and a symbolic link in place of one of the service's files. The service's own loose
 * modes (an older version's 0644, a 0777 folder) are repaired.
 */
export function prepareDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
  const uid = process.getuid?.();
  const owned = (stat: { uid: number }): boolean => uid === undefined || stat.uid === uid;
  const dir = lstatSync(dataDir);
  if (!dir.isDirectory())
    throw new Error(
      `${dataDir} is not a directory${dir.isSymbolicLink() ? ' (a symbolic link: give the real path)' : ''}`,
    );
  if (!owned(dir))
    throw new Error(`${dataDir} is owned by uid ${dir.uid}, not by the service's user (uid ${uid}): chown it`);
  if ((dir.mode & 0o077) !== 0) chmodSync(dataDir, DATA_DIR_MODE);
  for (const name of readdirSync(dataDir)) {
    const path = join(dataDir, name);
    const stat = lstatSync(path);
    if (!owned(stat))
      throw new Error(
        `${path} is owned by uid ${stat.uid}, not by the service's user (uid ${uid}): remove it, or chown it if it is the service's`,
      );
    if (stat.isSymbolicLink() && SERVICE_FILE.test(name))
      throw new Error(`${path} is a symbolic link: the service's files must be regular files`);
    // An open secrets.json is refused by its own check, not repaired.
    if (name !== 'secrets.json' && stat.isFile() && (stat.mode & 0o077) !== 0) chmodSync(path, DATA_FILE_MODE);
  }
}
