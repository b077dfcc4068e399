/**
 * The store's worker thread: owns the write connection and runs the group commit off the service's event loop.
 * Appends arrive in batches from the main thread; while another connection holds the write lock they wait here
 * (retried from a timer) until their deadline, then fail as unavailable with nothing written. Only this thread
 * answers an append, and it never writes one past its deadline (GroupCommit drops those once it holds the lock), so
 * "unavailable" always means nothing was or will be written (docs/decisions.md, Storage).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { backoffDelay } from '#runtime';
import { LOCKED_BACKOFF } from './non-blocking.js';
import { GroupCommit, unavailable, type AppendRequest } from './group-commit.js';
import { decodeRequests, encodeOutcomes, type WireOutcomes, type WireRequests } from './wire.js';

export type StoreWorkerData = { file: string; maxBatch: number; storeTimeoutMs: number };
export type ToStoreWorker =
  { kind: 'append'; requests: WireRequests } | { kind: 'follow'; port: MessagePort } | { kind: 'close' };
export type FromStoreWorker =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'settled'; outcomes: WireOutcomes }
  | { kind: 'closed' };

const { file, maxBatch, storeTimeoutMs } = workerData as StoreWorkerData;
const port = parentPort!;
const post = (message: FromStoreWorker): void => port.postMessage(message);
const queue: AppendRequest[] = [];
let timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
let lockedAttempts = 0;
let closing = false;
/** Followers in other threads (the views): told of each commit directly, without the service's event loop. */
const followers: MessagePort[] = [];

let log: GroupCommit;
try {
  log = new GroupCommit(file, storeTimeoutMs);
  post({ kind: 'ready' });
} catch (error) {
  post({ kind: 'failed', message: `cannot open ${file}: ${(error as Error).message}` });
  process.exit(1);
}

port.on('message', (message: ToStoreWorker) => {
  if (message.kind === 'follow') {
    followers.push(message.port);
    message.port.on('close', () => followers.splice(followers.indexOf(message.port), 1));
    return;
  }
  if (message.kind === 'close') {
    closing = true;
    if (queue.length === 0) close();
    return;
  }
  for (const request of decodeRequests(message.requests)) queue.push(request);
  if (!timer) timer = setImmediate(flush);
});

function flush(): void {
  timer = undefined;
  const batch = queue.splice(0, maxBatch);
  if (batch.length === 0) return;
  const outcomes = log.commit(batch);
  if (outcomes === 'locked') {
    queue.unshift(...batch);
    expire();
    // Waits grow to 25 ms, as SQLite's own busy handler does, without blocking this thread's message queue.
    if (queue.length > 0) timer = setTimeout(flush, backoffDelay(++lockedAttempts, LOCKED_BACKOFF));
    else if (closing) close();
    return;
  }
  lockedAttempts = 0;
  post({ kind: 'settled', outcomes: encodeOutcomes(outcomes) });
  if (outcomes.some((o) => o.ok)) for (const follower of followers) follower.postMessage('commit');
  if (queue.length > 0) timer = setImmediate(flush);
  else if (closing) close();
}

/** Fails the queued appends whose deadline passed: nothing of them was written. */
function expire(): void {
  const now = Date.now();
  const expired = queue.filter((r) => r.deadline <= now);
  if (expired.length === 0) return;
  queue.splice(0, queue.length, ...queue.filter((r) => r.deadline > now));
  post({ kind: 'settled', outcomes: encodeOutcomes(unavailable(expired, log.expired())) });
}

function close(): void {
  for (const follower of followers) follower.close();
  log.close();
  post({ kind: 'closed' });
  port.close();
}
