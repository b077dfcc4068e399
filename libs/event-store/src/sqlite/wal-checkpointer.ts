/**
 * Checkpoints of the log's WAL, run from a thread other than the writer's. With SQLite's automatic checkpoint, the
 * commit that crosses 1,000 WAL pages also copies them into the database file and fsyncs it: that commit, and every
 * append queued behind it, waited several milliseconds (p99 of a 23-event commit: 8 ms, against 0.5 ms without).
 * A PASSIVE checkpoint waits for no reader and no writer, so the writer keeps committing while it runs. The
 * writer keeps a far higher automatic threshold (WRITER_AUTOCHECKPOINT_PAGES) as a safety net, should this never run.
 */
import Database from 'better-sqlite3';
import { isLocked } from './schema.js';

/** The writer's own automatic checkpoint, only reached when no checkpointer runs: 10,000 pages, about 40 MB of WAL. */
export const WRITER_AUTOCHECKPOINT_PAGES = 10_000;

export class WalCheckpointer {
  private readonly db: Database.Database;
  private readonly timer: NodeJS.Timeout;

  /**
   * `onError` hears of a checkpoint that failed for another reason than a lock (a full disk: SQLITE_FULL, IOERR),
   * with `undefined` once one succeeds again. The next tick tries again: a checkpoint only moves pages the WAL
   * already holds safely, so a failed one loses nothing, and the thread running it must not die of it.
   */
  constructor(file: string, intervalMs = 100, onError: (error: unknown) => void = () => undefined) {
    this.db = new Database(file, { fileMustExist: true });
    this.db.pragma('busy_timeout = 0');
    let failing = false;
    this.timer = setInterval(() => {
      try {
        this.checkpoint();
        if (failing) onError(undefined);
        failing = false;
      } catch (error) {
        if (!failing) onError(error);
        failing = true;
      }
    }, intervalMs);
    this.timer.unref();
  }

  /** Copies what it can of the WAL into the database file; the frames still in the WAL, or undefined when locked. */
  checkpoint(): { log: number; checkpointed: number } | undefined {
    if (!this.db.open) return undefined;
    try {
      const [row] = this.db.pragma('wal_checkpoint(PASSIVE)') as Array<{
        busy: number;
        log: number;
        checkpointed: number;
      }>;
      return row && { log: row.log, checkpointed: row.checkpointed };
    } catch (error) {
      // Another checkpoint (another process's) or a recovery holds it: the next tick tries again.
      if (isLocked(error)) return undefined;
      throw error;
    }
  }

  close(): void {
    clearInterval(this.timer);
    if (this.db.open) this.db.close();
  }
}
