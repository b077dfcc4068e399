/**
 * Offline rebuild: replays the whole log from position 0 into a fresh views database beside the live one, through
 * the same projections as the live views, then swaps it in with a rename, so a reader never sees a half-built
 * view. The scratch file is written without a journal or fsync (a crash leaves only a scratch file to delete), in
 * large batches, with its indexes built once at the end; it becomes a WAL database before the swap.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { RecordedEvent } from '#event-store';
import { contactViewProjection } from './contact-view.js';
import { IncomingBatch } from './incoming-batch.js';
import { Projector, attachedLog } from './projection.js';
import { openViewsDatabase } from './views-database.js';

/** The log to replay: the embedded file itself, or pages of another store. */
export type RebuildSource =
  | { kind: 'sqlite'; file: string; head(): Promise<bigint | undefined> }
  | { kind: 'pages'; head(): Promise<bigint | undefined>; page(after: bigint | undefined, maxCount: number): Promise<RecordedEvent[]> };

export type RebuildProgress = { position: bigint; head: bigint; events: number; seconds: number };
export type RebuildResult = { head: bigint; events: number; seconds: number };

const BATCH = 50_000;
const SUFFIXES = ['', '-wal', '-shm', '-journal'];

export async function rebuildViews(source: RebuildSource, target: string, onProgress: (progress: RebuildProgress) => void = () => {}): Promise<RebuildResult> {
  const scratch = `${target}.rebuild`;
  for (const suffix of SUFFIXES) rmSync(`${scratch}${suffix}`, { force: true });
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const head = (await source.head()) ?? 0n;
  const db = openViewsDatabase(scratch);
  let events = 0;
  try {
    db.pragma('page_size = 16384');
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    db.pragma('temp_store = MEMORY');
    const report = (position: bigint, count: number): void => {
      events += count;
      onProgress({ position, head, events, seconds: seconds() });
    };
    if (source.kind === 'sqlite') {
      const projector = new Projector(db, [contactViewProjection], attachedLog(source.file), { changes: false, deferIndexes: true });
      // The log is read once, front to back: map it rather than copy it page by page.
      db.pragma('log.mmap_size = 4294967296');
      for (let after = 0n; after < head; ) {
        const upTo = head - after > BATCH ? after + BigInt(BATCH) : head;
        projector.applyBatch({ after, upTo });
        report(upTo, Number(upTo - after));
        after = upTo;
        // Let the progress bar draw.
        await new Promise((resolve) => setImmediate(resolve));
      }
      projector.createIndexes();
      db.exec('DETACH DATABASE log');
    } else {
      const incoming = new IncomingBatch();
      const projector = new Projector(db, [contactViewProjection], incoming, { changes: false, deferIndexes: true });
      let after: bigint | undefined;
      for (;;) {
        const page = (await source.page(after, 5_000)).filter((e) => e.position <= head);
        if (page.length === 0) break;
        projector.applyBatch(incoming.load(page));
        after = page[page.length - 1]!.position;
        report(after, page.length);
        if (after >= head) break;
      }
      projector.createIndexes();
    }
  } catch (error) {
    db.close();
    throw error;
  }
  try {
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  for (const suffix of ['-wal', '-shm']) if (existsSync(`${target}${suffix}`)) rmSync(`${target}${suffix}`);
  renameSync(scratch, target);
  for (const suffix of SUFFIXES.slice(1)) rmSync(`${scratch}${suffix}`, { force: true });
  return { head, events, seconds: seconds() };
}
