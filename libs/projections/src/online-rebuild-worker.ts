/**
 * The build half of an online rebuild, in its own thread so the service's event loop never runs it: the offline
 * rebuild's replay of the embedded log up to its head at start, into the next views file. Reports progress.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteLogReader } from '#event-store';
import { catchUp } from './online-rebuild.js';
import { rebuildViews } from './rebuild.js';

export type OnlineRebuildWorkerData = { eventsFile: string; nextFile: string; storeTimeoutMs: number };
export type FromOnlineRebuildWorker =
  | { kind: 'progress'; position: bigint; head: bigint; events: number; seconds: number }
  | { kind: 'built'; head: bigint; events: number; seconds: number }
  | { kind: 'failed'; error: string };

const { eventsFile, nextFile, storeTimeoutMs } = workerData as OnlineRebuildWorkerData;
const post = (message: FromOnlineRebuildWorker): void => parentPort!.postMessage(message);
const reader = new SqliteLogReader(eventsFile, storeTimeoutMs);
const started = performance.now();
const CLOSE_ENOUGH = 1_000n;
try {
  const result = await rebuildViews(
    { kind: 'sqlite', file: eventsFile, head: () => reader.head() },
    nextFile,
    (p) => post({ kind: 'progress', ...p }),
    'service',
  );
  // The log went on while it was built: follow it here, so the views thread has only the last events to apply.
  let head = result.head;
  let events = result.events;
  for (let round = 0; round < 5; round++) {
    const now = (await reader.head()) ?? 0n;
    if (now - head <= CLOSE_ENOUGH) break;
    catchUp(nextFile, eventsFile, now);
    events += Number(now - head);
    head = now;
    post({ kind: 'progress', position: head, head, events, seconds: (performance.now() - started) / 1000 });
  }
  post({ kind: 'built', head, events, seconds: (performance.now() - started) / 1000 });
} catch (error) {
  post({ kind: 'failed', error: error instanceof Error ? error.message : String(error) });
} finally {
  reader.close();
}
