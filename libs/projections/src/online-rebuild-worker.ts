/**
 * The build half of an online rebuild, in its own thread so the service's event loop never runs it: the offline
 * rebuild's replay of the embedded log up to its head at start, into the next views file. Reports progress.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteLogReader } from '#event-store';
import { rebuildViews } from './rebuild.js';

export type OnlineRebuildWorkerData = { eventsFile: string; nextFile: string; storeTimeoutMs: number };
export type FromOnlineRebuildWorker =
  | { kind: 'progress'; position: bigint; head: bigint; events: number; seconds: number }
  | { kind: 'built'; head: bigint; events: number; seconds: number }
  | { kind: 'failed'; error: string };

const { eventsFile, nextFile, storeTimeoutMs } = workerData as OnlineRebuildWorkerData;
const post = (message: FromOnlineRebuildWorker): void => parentPort!.postMessage(message);
const reader = new SqliteLogReader(eventsFile, storeTimeoutMs);
try {
  const result = await rebuildViews({ kind: 'sqlite', file: eventsFile, head: () => reader.head() }, nextFile, (p) => post({ kind: 'progress', ...p }));
  post({ kind: 'built', ...result });
} catch (error) {
  post({ kind: 'failed', error: error instanceof Error ? error.message : String(error) });
} finally {
  reader.close();
}
