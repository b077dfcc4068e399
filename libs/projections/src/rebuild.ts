/**
 * Offline rebuild: replays the whole log from position 0 into a fresh views database beside the live one, through
 * the same projections as the live views, then swaps it in with a rename, so a reader never sees a half-built
 * view. Scratch files are written without a journal or fsync (a crash leaves only scratch files, removed by the
 * next run), in large batches, with indexes built once at the end; the result becomes a WAL database before the swap.
 */
import type Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { startWorker, type RecordedEvent } from '#event-store';
import { nextTurn } from '#runtime';
import { contactHistoryProjection, contactViewProjection, mergeContactView } from './contact-view.js';
import { IncomingBatch } from './incoming-batch.js';
import { Projector, attachedLog } from './projection.js';
import { openScratch, type ScratchBudget } from './rebuild-scratch.js';
import type { FromRebuildWorker, RebuildWorkerData } from './rebuild-worker.js';
import { VIEW_PROJECTIONS } from './views.js';

/** The log to replay: the embedded file itself, or pages of another store. */
export type RebuildSource =
  | { kind: 'sqlite'; file: string; head(): Promise<bigint | undefined> }
  | {
      kind: 'pages';
      head(): Promise<bigint | undefined>;
      page(after: bigint | undefined, maxCount: number): Promise<RecordedEvent[]>;
    };

export type RebuildProgress = { position: bigint; head: bigint; events: number; seconds: number };
export type RebuildResult = { head: bigint; events: number; seconds: number };

const BATCH = 50_000;
const SUFFIXES = ['', '-wal', '-shm', '-journal'];

/** `budget`: the memory it may take (see openScratch): the service's own when it runs inside the service. */
export async function rebuildViews(
  source: RebuildSource,
  target: string,
  onProgress: (progress: RebuildProgress) => void = () => {},
  budget: ScratchBudget = 'offline',
): Promise<RebuildResult> {
  const scratch = `${target}.rebuild`;
  const side = `${target}.rebuild-contacts`;
  const clean = (): void => {
    for (const file of [scratch, side]) for (const suffix of SUFFIXES) rmSync(`${file}${suffix}`, { force: true });
  };
  clean();
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const head = (await source.head()) ?? 0n;
  try {
    const events =
      source.kind === 'sqlite'
        ? await rebuildInTwoThreads(source.file, scratch, side, head, seconds, onProgress, budget)
        : await rebuildFromPages(source, scratch, head, seconds, onProgress, budget);
    for (const suffix of ['-wal', '-shm']) if (existsSync(`${target}${suffix}`)) rmSync(`${target}${suffix}`);
    renameSync(scratch, target);
    return { head, events, seconds: seconds() };
  } finally {
    clean();
  }
}

/**
 * The embedded log, attached: a worker thread projects the contacts' starts and ends into a side file while this
 * thread projects the history (the larger table) into the scratch file; the contact view is then merged from the
 * side file (contactViewRebuildProjection), the indexes built once, and the file becomes a WAL database.
 */
async function rebuildInTwoThreads(
  eventsFile: string,
  scratch: string,
  side: string,
  head: bigint,
  seconds: () => number,
  onProgress: (progress: RebuildProgress) => void,
  budget: ScratchBudget,
): Promise<number> {
  const data: RebuildWorkerData = { eventsFile, sideFile: side, head, batch: BATCH, budget };
  const worker = startWorker(import.meta.url, 'rebuild-worker', data);
  let sidePosition = 0n;
  let historyPosition = 0n;
  let events = 0;
  const report = (): void => {
    const position = sidePosition < historyPosition ? sidePosition : historyPosition;
    onProgress({ position, head, events: Number(position), seconds: seconds() });
  };
  const sideDone = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: FromRebuildWorker) => {
      if (message.kind === 'done') return resolve();
      sidePosition = message.position;
      report();
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`the rebuild worker exited with ${code}`)),
    );
  });
  const db = openScratch(scratch, budget);
  try {
    const projector = new Projector(db, [contactHistoryProjection], attachedLog(eventsFile), {
      changes: false,
      deferIndexes: true,
    });
    for (let after = 0n; after < head;) {
      const upTo = head - after > BigInt(BATCH) ? after + BigInt(BATCH) : head;
      projector.applyBatch({ after, upTo });
      events += Number(upTo - after);
      historyPosition = upTo;
      report();
      after = upTo;
      // Lets the worker's progress (and a progress bar) through.
      await nextTurn();
    }
    db.exec('DETACH DATABASE log');
    // The history's index is built while the worker finishes; the copied tables' after the copy.
    for (const sql of contactHistoryProjection.indexes) db.exec(sql);
    await sideDone;
    copySideViews(db, side);
    for (const sql of contactViewProjection.indexes) db.exec(sql);
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
    await worker.terminate();
  }
  return events;
}

/** The contact view merged from the side file's starts and ends (mergeContactView), and its checkpoint. */
function copySideViews(db: Database.Database, side: string): void {
  db.prepare('ATTACH DATABASE ? AS side').run(side);
  db.transaction(() => {
    for (const sql of contactViewProjection.tables) db.exec(sql);
    mergeContactView(db, 'side');
    db.exec('INSERT INTO main.checkpoints SELECT * FROM side.checkpoints');
  })();
  db.exec('DETACH DATABASE side');
}

/** Another store (EventStoreDB): its pages, copied into the batch table, through every projection. */
async function rebuildFromPages(
  source: Extract<RebuildSource, { kind: 'pages' }>,
  scratch: string,
  head: bigint,
  seconds: () => number,
  onProgress: (progress: RebuildProgress) => void,
  budget: ScratchBudget,
): Promise<number> {
  const db = openScratch(scratch, budget);
  let events = 0;
  try {
    const incoming = new IncomingBatch();
    const projector = new Projector(db, VIEW_PROJECTIONS, incoming, { changes: false, deferIndexes: true });
    let after: bigint | undefined;
    for (;;) {
      const page = (await source.page(after, 5_000)).filter((e) => e.position <= head);
      if (page.length === 0) break;
      projector.applyBatch(incoming.load(page));
      after = page[page.length - 1]!.position;
      events += page.length;
      onProgress({ position: after, head, events, seconds: seconds() });
      if (after >= head) break;
    }
    projector.createIndexes();
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  return events;
}
