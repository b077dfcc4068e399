/**
 * Online rebuild, blue/green (docs/design.md, Audit and replay). The new views are built beside the live ones in their own file (the
 * offline rebuild's fast path, in a worker thread), while the service keeps reading and projecting the current ones.
 * Once built, the views thread (the only writer of views.db in this process) catches the new file up to its own
 * checkpoint and copies it over the live tables in ONE transaction: a reader sees the old views or the new ones,
 * never a mix, and another process sharing views.db sees the same commit. A crash before that commit leaves the
 * live views as they were and a half-built file, which the next start discards.
 */
import type Database from 'better-sqlite3';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Projector, attachedLog, readCheckpoint } from './projection.js';
import { openViewsDatabase } from './views-database.js';
import { VIEW_PROJECTIONS } from './views.js';

export type OnlineRebuildState = {
  state: 'idle' | 'building' | 'swapping' | 'done' | 'failed';
  position: string;
  head: string;
  startedAt?: string;
  finishedAt?: string;
  eventsPerSecond?: number;
  error?: string;
};

const CATCH_UP_BATCH = 50_000n;

/**
 * Where this process builds its next views: named by host and process, so two processes on one DATA_DIR never share
 * one, also two containers on one volume (each is pid 1 in its own namespace; their host names differ).
 */
export const nextViewsFile = (viewsFile: string, pid = process.pid, host = hostname()): string =>
  `${viewsFile}.next-${pid}@${host}`;

/** A half-built file of another host cannot be asked whether its process lives: it is left until untouched this long. */
export const HALF_BUILT_STALE_MS = 10 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the half-built views of processes that are gone: on this host (or unnamed, as older releases left them)
 * when the pid is this process's (it is starting) or no longer runs; of another host once untouched for
 * `HALF_BUILT_STALE_MS` (a build writes its file continuously).
 */
export function discardHalfBuilt(viewsFile: string, now = Date.now(), host = hostname()): string[] {
  const prefix = `${basename(viewsFile)}.next-`;
  const removed: string[] = [];
  for (const name of readdirSync(dirname(viewsFile))) {
    if (!name.startsWith(prefix)) continue;
    // `<pid>@<host>`, then what the builder and SQLite add (rebuild.ts's `.rebuild`, `.rebuild-contacts`; `-wal`…);
    // older releases named it `<pid>` alone, on this host.
    const owner = /^(\d+)(?:@(.+?))?(?:\.rebuild(?:-contacts)?)?(?:-wal|-shm|-journal)?$/.exec(
      name.slice(prefix.length),
    );
    const pid = Number(owner?.[1]);
    const sameHost = owner?.[2] === undefined || owner[2] === host;
    const path = join(dirname(viewsFile), name);
    if (sameHost && pid !== process.pid && Number.isInteger(pid) && alive(pid)) continue;
    if (!sameHost && now - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0) < HALF_BUILT_STALE_MS) continue;
    rmSync(path, { force: true });
    removed.push(name);
  }
  return removed;
}

/** Applies the log to `nextFile` from its checkpoint up to `target`, in large batches. */
export function catchUp(nextFile: string, eventsFile: string, target: bigint): void {
  const next = openViewsDatabase(nextFile);
  try {
    const projector = new Projector(next, VIEW_PROJECTIONS, attachedLog(eventsFile), { changes: false });
    for (let after = projector.resumeAfter() ?? 0n; after < target;) {
      const upTo = target - after > CATCH_UP_BATCH ? after + CATCH_UP_BATCH : target;
      projector.applyBatch({ after, upTo });
      after = upTo;
    }
    next.exec('DETACH DATABASE log');
    next.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    next.close();
  }
}

/**
 * In the views thread, between two batches: catches `nextFile` up to the live checkpoint (the builder already took
 * it close), then replaces every live projection table and the checkpoints with its rows in one transaction. The
 * tables are dropped and filled afresh, their indexes built once after: faster than deleting and inserting row by
 * row into indexed tables, and the views thread is not projecting meanwhile.
 *
 * Another process sharing views.db keeps projecting until this transaction takes the write lock, so the live
 * checkpoint is read again under that lock, and whatever the peer applied after the catch-up's target is applied
 * to the swapped-in rows before the commit (`live`: this thread's projector, the log attached). The checkpoints never
 * go back: a peer's cursor beyond them would otherwise leave that gap unapplied for good (docs/operations.md).
 * Returns the position swapped at.
 */
export function swapIn(live: Database.Database, projector: Projector, nextFile: string, eventsFile: string): bigint {
  catchUp(nextFile, eventsFile, liveCheckpointOf(live));
  live.prepare('ATTACH DATABASE ? AS next').run(nextFile);
  try {
    return live.transaction(() => {
      // A write first, so the transaction holds views.db's write lock before it reads the checkpoint it keeps.
      live.exec('UPDATE main.checkpoints SET name = name WHERE 0');
      const target = liveCheckpointOf(live);
      const built = liveCheckpointOf(live, 'next');
      for (const projection of VIEW_PROJECTIONS) {
        for (const ddl of projection.tables) {
          const table = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(ddl)?.[1];
          if (!table) throw new Error(`cannot name the table of: ${ddl.slice(0, 80)}`);
          live.exec(`DROP TABLE IF EXISTS main."${table}"`);
          live.exec(ddl);
          live.exec(`INSERT INTO main."${table}" SELECT * FROM next."${table}"`);
        }
        for (const sql of projection.indexes) live.exec(sql);
      }
      live.exec('DELETE FROM main.checkpoints');
      live.exec('INSERT INTO main.checkpoints SELECT * FROM next.checkpoints');
      if (target > built) projector.applyBatch({ after: built, upTo: target });
      // Views built from nothing (a first build) are ahead of the live checkpoint, not behind it.
      return target > built ? target : built;
    })();
  } finally {
    live.exec('DETACH DATABASE next');
  }
}

/** The position every projection of `schema` has applied. */
function liveCheckpointOf(db: Database.Database, schema: 'main' | 'next' = 'main'): bigint {
  let least: bigint | undefined;
  for (const projection of VIEW_PROJECTIONS) {
    const checkpoint = readCheckpoint(db, projection.name, schema) ?? 0n;
    if (least === undefined || checkpoint < least) least = checkpoint;
  }
  return least ?? 0n;
}
