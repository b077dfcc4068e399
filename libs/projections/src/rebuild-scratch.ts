/** What both threads of an offline rebuild share: a scratch file written fast, and a log replayed in ranges. */
import Database from 'better-sqlite3';
import type { Projector } from './projection.js';

/** No journal, no fsync: a crash leaves only a scratch file to delete. The log is read once, front to back: mapped. */
export function openScratch(file: string): Database.Database {
  const db = new Database(file);
  // Before anything is written: the page size is fixed by the first write.
  db.pragma('page_size = 16384');
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  db.pragma('temp_store = MEMORY');
  return db;
}

/** Applies (0, head] in ranges of `batch` positions, reporting each range's end and the events it covered. */
export function projectRange(projector: Projector<unknown>, head: bigint, batch: number, onRange: (position: bigint, events: number) => void): void {
  for (let after = 0n; after < head; ) {
    const upTo = head - after > BigInt(batch) ? after + BigInt(batch) : head;
    projector.applyBatch({ after, upTo });
    onRange(upTo, Number(upTo - after));
    after = upTo;
  }
}
