/**
 * Offline rebuild: replays the whole log from position 0 into a fresh views database beside the live one, through
 * the same projections and batches as the live views, then swaps it in with a rename, so a reader never sees a
 * half-built view. The scratch file is written without a journal or fsync (a crash leaves only a scratch file to
 * delete), in large batches, and becomes a WAL database before the swap.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { contactViewProjection } from './contact-view.js';
import { directoryViewProjection } from './directory-view.js';
import { Projector } from './projection.js';
import type { ViewEvent } from './view-event.js';
import { openViewsDatabase } from './views-database.js';

/** The log to replay: pages after a position, and where it ends now. */
export interface RebuildSource {
  head(): Promise<bigint | undefined>;
  page(after: bigint, maxCount: number): Promise<ViewEvent[]>;
}

export type RebuildProgress = { position: bigint; head: bigint; events: number; seconds: number };
export type RebuildResult = { head: bigint; events: number; seconds: number };

const PAGE = 10_000;
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
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const projector = new Projector(db, [contactViewProjection, directoryViewProjection], { changes: false });
    let position = 0n;
    while (position < head) {
      const page = (await source.page(position, PAGE)).filter((e) => e.position <= head);
      if (page.length === 0) break;
      projector.applyBatch(page);
      position = page[page.length - 1]!.position;
      events += page.length;
      onProgress({ position, head, events, seconds: seconds() });
    }
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  for (const suffix of ['-wal', '-shm']) if (existsSync(`${target}${suffix}`)) rmSync(`${target}${suffix}`);
  renameSync(scratch, target);
  for (const suffix of SUFFIXES.slice(1)) rmSync(`${scratch}${suffix}`, { force: true });
  return { head, events, seconds: seconds() };
}
