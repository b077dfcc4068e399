/**
 * The views' worker thread: owns the views database's write connection and follows the event store into it, one
 * transaction per batch (rows and checkpoints together). The service's event loop only receives what changed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteLogFollower, SqliteLogReader, type EventStore } from '../../event-store/src/index.js';
import { contactViewProjection, type ContactView } from './contact-view.js';
import { directoryViewProjection } from './directory-view.js';
import { Projector } from './projection.js';
import { Subscription, batchesOf, type EventBatches } from './subscription/index.js';
import { fromRaw, fromRecorded, type ViewEvent } from './view-event.js';
import { openViewsDatabase } from './views-database.js';

export type ViewsSource = { kind: 'sqlite'; file: string; pollIntervalMs?: number } | { kind: 'esdb'; connectionString: string };
export type ViewsWorkerData = { viewsFile: string; source: ViewsSource; storeTimeoutMs: number; maxBatch?: number };
export type ToViewsWorker = { kind: 'wake' } | { kind: 'stop' };
export type FromViewsWorker =
  | { kind: 'started'; checkpoint: bigint | undefined; projections: string[] }
  | { kind: 'committed'; position: bigint; changes: ContactView[] }
  | { kind: 'running' }
  | { kind: 'failed'; error: string }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { kind: 'stopped' };

const { viewsFile, source, storeTimeoutMs, maxBatch = 1_000 } = workerData as ViewsWorkerData;
const port = parentPort!;
const post = (message: FromViewsWorker): void => port.postMessage(message);
const log = (level: 'info' | 'warn' | 'error') => (message: string, error?: unknown) =>
  post({ kind: 'log', level, message: error instanceof Error ? `${message}: ${error.message}` : message });

const db = openViewsDatabase(viewsFile, storeTimeoutMs);
const projector = new Projector<ContactView>(db, [contactViewProjection, directoryViewProjection]);
const { batches, wake, close } = await openSource(source);

const subscription = new Subscription<ViewEvent>('views', batches, {
  resume: async () => projector.resumeAfter(),
  handle: (batch) => {
    const { last, changes } = projector.applyBatch(batch);
    post({ kind: 'committed', position: last, changes });
  },
}, {
  logger: { info: log('info'), warn: log('warn'), error: log('error') },
  backoff: { initialMs: 100, maxMs: 5_000 },
  onRunning: () => post({ kind: 'running' }),
  onFailure: (error) => void post({ kind: 'failed', error: error instanceof Error ? error.message : String(error) }),
});
post({ kind: 'started', checkpoint: projector.resumeAfter(), projections: projector.names });
subscription.start();

port.on('message', (message: ToViewsWorker) => {
  if (message.kind === 'wake') wake();
  else void stop();
});

async function stop(): Promise<void> {
  await subscription.stop();
  await close();
  db.close();
  post({ kind: 'stopped' });
  port.close();
}

async function openSource(spec: ViewsSource): Promise<{ batches: EventBatches<ViewEvent>; wake: () => void; close: () => Promise<void> }> {
  if (spec.kind === 'sqlite') {
    const reader = new SqliteLogReader(spec.file, storeTimeoutMs);
    const follower = new SqliteLogFollower(() => reader, spec.pollIntervalMs ?? 50);
    return {
      batches: async function* (after, signal) {
        for await (const page of follower.follow((cursor) => reader.readRaw(cursor, maxBatch), after, signal)) yield page.map(fromRaw);
      },
      wake: () => follower.notify(),
      close: async () => {
        follower.close();
        reader.close();
      },
    };
  }
  // Loaded only when needed: the gRPC client is not started for the embedded store.
  const { EsdbEventStore } = await import('../../event-store/src/esdb/esdb-event-store.js');
  const store: EventStore = new EsdbEventStore(spec.connectionString);
  const events = batchesOf((after, signal) => store.subscribeToAll({ ...(after !== undefined ? { after } : {}), signal }), maxBatch, 5);
  return {
    batches: async function* (after, signal) {
      for await (const batch of events(after, signal)) yield batch.map(fromRecorded);
    },
    wake: () => undefined,
    close: () => store.close(),
  };
}
