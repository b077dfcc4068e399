/**
 * Where the views live in DATA_DIR. Each views schema version has a file of its own (`views.v5.db`): two processes
 * of different versions sharing one DATA_DIR (a rolling deploy that changes the views' shape) each follow the log
 * into their own file, and neither drops or writes the other's tables. docs/operations.md, "Two processes on one
 * volume".
 *
 * A file of another version is removed at start once nothing has touched it for `STALE_VIEWS_AFTER_MS`: a running
 * process touches its own file every `VIEWS_HEARTBEAT_MS` (and writes its WAL on every batch), so only the views of
 * a version no process runs any more go.
 */
import { readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Changing the tables' shape bumps this; the new version builds its own file from the log. */
// 3: the contact history is its own projection. 4: the directory view (agents, security_profiles) is gone;
// authentication reads the directory's streams.
// 5: anonymous refusals left out of contact_history (older views are replayed without them).
export const VIEWS_SCHEMA_VERSION = 5;
export const VIEWS_HEARTBEAT_MS = 60_000;
export const STALE_VIEWS_AFTER_MS = 15 * 60_000;

/** The views file of `version` (this build's by default) in `dataDir`. */
export function viewsFileIn(dataDir: string, version = VIEWS_SCHEMA_VERSION): string {
  return join(dataDir, `views.v${version}.db`);
}

/** `views.db` (releases before views were versioned by file) and `views.vN.db`, with their WAL, SHM and rebuilds. */
const VIEWS_FILE = /^(views(?:\.v(\d+))?\.db)(?:-wal|-shm|-journal|\.next-.*)?$/;

/** The last time anything touched a views file or its companions (ms since the epoch), by base file name. */
function lastTouched(dataDir: string): Map<string, { version: number | undefined; at: number; files: string[] }> {
  const found = new Map<string, { version: number | undefined; at: number; files: string[] }>();
  for (const name of readdirSync(dataDir)) {
    const match = VIEWS_FILE.exec(name);
    if (!match) continue;
    const base = match[1]!;
    const entry = found.get(base) ?? {
      version: match[2] === undefined ? undefined : Number(match[2]),
      at: 0,
      files: [],
    };
    try {
      entry.at = Math.max(entry.at, statSync(join(dataDir, name)).mtimeMs);
    } catch {
      continue;
    }
    entry.files.push(name);
    found.set(base, entry);
  }
  return found;
}

/**
 * Removes the views beside `ownFile` (other schema versions, or the unversioned views.db) that nothing touched for
 * `staleAfterMs`; returns what it removed and what it kept (views a peer may still be using), for the start-up log.
 */
export function removeStaleViews(
  ownFile: string,
  now = Date.now(),
  staleAfterMs = STALE_VIEWS_AFTER_MS,
): { removed: string[]; kept: string[] } {
  const dataDir = dirname(ownFile);
  const removed: string[] = [];
  const kept: string[] = [];
  for (const [base, entry] of lastTouched(dataDir)) {
    if (base === basename(ownFile)) continue;
    if (now - entry.at < staleAfterMs) {
      kept.push(base);
      continue;
    }
    for (const name of entry.files) rmSync(join(dataDir, name), { force: true });
    removed.push(base);
  }
  return { removed, kept };
}

/** Marks `file` as in use (its modification time), so that a process of another version does not remove it. */
export function touchViews(file: string, now = new Date()): void {
  utimesSync(file, now, now);
}
