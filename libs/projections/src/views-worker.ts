/**
 * The views' worker thread: owns the views database's write connection and follows the event store into it, one
 * transaction per batch (rows and checkpoints together). The service's event loop only receives what changed.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { SqliteLogFollower, SqliteLogReader, WalCheckpointer, type EventStore, type RecordedEvent } from '#event-store';
import { errorMessage, type Log, type LogFn } from '#runtime';
import { Subscription, batchesOf, type EventBatches } from '#subscription';
import type { ContactView } from './contact-view.js';
import { rmSync } from 'node:fs';
import { setPriority } from 'node:os';
import { IncomingBatch } from './incoming-batch.js';
import { discardHalfBuilt, swapIn } from './online-rebuild.js';
import { Projector, attachedLog } from './projection.js';
import { openViewsDatabase } from './views-database.js';
import { STALE_VIEWS_AFTER_MS, VIEWS_HEARTBEAT_MS, removeStaleViews, touchViews } from './views-files.js';
import { VIEW_PROJECTIONS as PROJECTIONS } from './views.js';

export type ViewsSource =
  | { kind: 'sqlite'; file: string; pollIntervalMs?: number }
  | { kind: 'esdb'; connectionString: string }
  | { kind: 'postgres'; connectionString: string };
export type ViewsWorkerData = {
  viewsFile: string;
  source: ViewsSource;
  storeTimeoutMs: number;
  maxBatch?: number;
  /** Nothing applied yet and an embedded log at least this long: hold until the first build is swapped in (or 'follow'). */
  firstBuildMinEvents?: number;
  /** Told 'commit' by the store's writer thread after each commit of this process. */
  commits?: MessagePort;
};
/** `changes`: whether anyone listens to what changed (live streams); reading it back is skipped otherwise. */
export type ToViewsWorker =
  { kind: 'changes'; on: boolean } | { kind: 'swap'; nextFile: string } | { kind: 'follow' } | { kind: 'stop' };
export type FromViewsWorker =
  | { kind: 'started'; checkpoint: bigint | undefined; projections: string[]; holding: boolean }
  | { kind: 'committed'; position: bigint; changes: ContactView[] }
  | { kind: 'running' }
  | { kind: 'failed'; error: string }
  | { kind: 'log'; level: keyof Log; message: string }
  | { kind: 'swapped'; position: bigint; ms: number }
  | { kind: 'swap-failed'; error: string }
  | { kind: 'stopped' };

const {
  viewsFile,
  source,
  storeTimeoutMs,
  maxBatch = 1_000,
  firstBuildMinEvents,
  commits,
} = workerData as ViewsWorkerData;
/**
 * 10: under the EndContact bench's load the views still kept up (17% of a core, as before) while ends went from
 * 12,300-12,990 to 13,569-13,601 ok/s: the writer and the event loop no longer wait for a core behind this thread.
 */
const VIEWS_THREAD_NICE = 10;
const port = parentPort!;
const post = (message: FromViewsWorker): void => port.postMessage(message);
// The thread's lines go to the service's logger on the main thread, the error's message appended to the line.
const log =
  (level: keyof Log): LogFn =>
  (first: string | object, message?: string) => {
    const err = typeof first === 'object' ? (first as { err?: unknown }).err : undefined;
    const line = typeof first === 'string' ? first : (message ?? '');
    post({ kind: 'log', level, message: err === undefined ? line : `${line}: ${errorMessage(err)}` });
  };

const logger: Log = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
// A rebuild cut short by a crash left its next views behind: the live ones never depended on them.
for (const name of discardHalfBuilt(viewsFile))
  logger.warn(`discarded ${name}, left by an online rebuild that did not finish`);
// Views of another schema version belong to a peer of another release (a rolling deploy) until nothing touches them.
const stale = removeStaleViews(viewsFile);
for (const name of stale.removed)
  logger.info(
    `removed ${name}: views of another schema version that no process has touched for ${STALE_VIEWS_AFTER_MS / 60_000} minutes`,
  );
for (const name of stale.kept)
  logger.info(
    `kept ${name}: views of another schema version, in use by a peer process until ${STALE_VIEWS_AFTER_MS / 60_000} minutes pass untouched`,
  );
// The views are a read model that may lag: commands (the event loop, the writer thread) come first for the CPU. On
// Linux a thread's nice value is its own, so this lowers this thread alone; elsewhere it would lower the process.
if (process.platform === 'linux') setPriority(VIEWS_THREAD_NICE);
const db = openViewsDatabase(viewsFile, storeTimeoutMs);
// The file's modification time says "in use" to a process of another schema version (see views-files.ts).
const heartbeat = setInterval(() => {
  try {
    touchViews(viewsFile);
  } catch (error) {
    logger.warn({ err: error }, `could not touch ${viewsFile}`);
  }
}, VIEWS_HEARTBEAT_MS);
heartbeat.unref();
const { subscription, projector, wake, close, head } = await follow(source);
projector.collectChanges = false;
commits?.on('message', wake);
// Views from nothing on a long log: the online rebuild's bulk path builds them far faster than batch by batch.
const holding =
  firstBuildMinEvents !== undefined &&
  (projector.resumeAfter() ?? 0n) === 0n &&
  (await head()) >= BigInt(firstBuildMinEvents);
post({ kind: 'started', checkpoint: projector.resumeAfter(), projections: projector.names, holding });
if (!holding) subscription.start();

port.on('message', (message: ToViewsWorker) => {
  if (message.kind === 'changes') projector.collectChanges = message.on;
  else if (message.kind === 'swap') {
    swap(message.nextFile);
    subscription.start();
  } else if (message.kind === 'follow') subscription.start();
  else void stop();
});

/** Between two batches (this handler runs alone on this thread): the next views, caught up, replace the live ones. */
function swap(nextFile: string): void {
  try {
    if (source.kind !== 'sqlite') throw new Error('the online rebuild needs the embedded event store');
    const started = performance.now();
    const position = swapIn(db, projector, nextFile, source.file);
    post({ kind: 'swapped', position, ms: Math.round(performance.now() - started) });
  } catch (error) {
    post({ kind: 'swap-failed', error: errorMessage(error) });
  } finally {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${nextFile}${suffix}`, { force: true });
  }
}

async function stop(): Promise<void> {
  clearInterval(heartbeat);
  commits?.close();
  await subscription.stop();
  await close();
  db.close();
  post({ kind: 'stopped' });
  port.close();
}

type Following = {
  subscription: Subscription<{ position: bigint }>;
  projector: Projector<ContactView>;
  wake: () => void;
  close: () => Promise<void>;
  /** The log's head (0 when empty); only the embedded log is asked (the first build needs it). */
  head: () => Promise<bigint>;
};

function subscribe<E extends { position: bigint }>(
  projector: Projector<ContactView>,
  batches: EventBatches<E>,
  apply: (batch: E[]) => { last: bigint; changes: ContactView[] },
): Subscription<E> {
  return new Subscription<E>(
    'views',
    batches,
    {
      resume: async () => projector.resumeAfter(),
      handle: (batch) => {
        const { last, changes } = apply(batch);
        post({ kind: 'committed', position: last, changes });
      },
    },
    {
      logger,
      backoff: { initialMs: 100, maxMs: 5_000 },
      onRunning: () => post({ kind: 'running' }),
      onFailure: (error) =>
        void post({ kind: 'failed', error: error instanceof Error ? error.message : String(error) }),
    },
  );
}

async function follow(spec: ViewsSource): Promise<Following> {
  if (spec.kind === 'sqlite') {
    // The projections read the log where it lies (attached); this side only learns how far it reaches.
    const projector = new Projector<ContactView>(db, PROJECTIONS, attachedLog(spec.file));
    const reader = new SqliteLogReader(spec.file, storeTimeoutMs);
    const follower = new SqliteLogFollower(() => reader, spec.pollIntervalMs ?? 50);
    // This thread also checkpoints the log's WAL, so that the store's writer thread never does it inside a commit.
    const checkpointer = new WalCheckpointer(spec.file, undefined, (error) =>
      error === undefined
        ? logger.info('the event log WAL checkpoints again')
        : logger.warn({ err: error }, 'the event log WAL could not be checkpointed (tried again every 100 ms)'),
    );
    const ranges: EventBatches<{ after: bigint; position: bigint }> = (after, signal) =>
      follower.follow(
        async (cursor) => {
          const head = (await reader.head()) ?? 0n;
          return head > cursor
            ? [{ after: cursor, position: head - cursor > maxBatch ? cursor + BigInt(maxBatch) : head }]
            : [];
        },
        after ?? 0n,
        signal,
      );
    const subscription = subscribe(projector, ranges, (batch) =>
      projector.applyBatch({ after: batch[0]!.after, upTo: batch[batch.length - 1]!.position }),
    );
    return {
      subscription,
      projector,
      wake: () => follower.notify(),
      head: async () => (await reader.head()) ?? 0n,
      close: async () => {
        checkpointer.close();
        follower.close();
        reader.close();
      },
    };
  }
  // Loaded only when needed: neither the gRPC client nor node-postgres is started for the embedded store.
  const store: EventStore =
    spec.kind === 'esdb'
      ? new (await import('#event-store/esdb')).EsdbEventStore(spec.connectionString)
      : new (await import('#event-store/postgres')).PostgresEventStore(spec.connectionString, { storeTimeoutMs });
  const incoming = new IncomingBatch();
  const projector = new Projector<ContactView>(db, PROJECTIONS, incoming);
  const events = batchesOf<RecordedEvent>(
    (after, signal) => store.subscribeToAll({ ...(after !== undefined ? { after } : {}), signal }),
    maxBatch,
    5,
  );
  const subscription = subscribe(projector, events, (batch) => projector.applyBatch(incoming.load(batch)));
  return { subscription, projector, wake: () => undefined, head: async () => 0n, close: () => store.close() };
}
