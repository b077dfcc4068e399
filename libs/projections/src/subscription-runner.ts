/**
 * A catch-up subscription from the event store into the views database. Each projection owns a checkpoint,
 * written in the same SQLite transaction as the rows it produced: a crash never leaves a view ahead of or behind
 * its checkpoint, so a restart resumes exactly where the last commit ended.
 */
import type Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { waitForPosition, type EventStore, type RecordedEvent } from '../../event-store/src/index.js';

export interface Projection<Change = unknown> {
  readonly name: string;
  /** Creates the projection's tables if missing. */
  migrate(db: Database.Database): void;
  /** Removes every row the projection produced (for a rebuild). */
  reset(db: Database.Database): void;
  /** Applies one event inside the runner's transaction; returns what changed, for live listeners. */
  apply(db: Database.Database, event: RecordedEvent): Change | undefined;
}

export interface RunnerLogger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

const BATCH = 500;

export function migrateCheckpoints(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL)');
}

export function readCheckpoint(db: Database.Database, name: string): bigint | undefined {
  const row = db.prepare<[string], { position: string }>('SELECT position FROM checkpoints WHERE name = ?').get(name);
  return row ? BigInt(row.position) : undefined;
}

export class SubscriptionRunner<Change = unknown> {
  private readonly changes = new EventEmitter();
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private buffer: RecordedEvent[] = [];
  private flushScheduled = false;
  private position: bigint | undefined;
  private lastError: string | undefined;
  private readonly saveCheckpoint;

  constructor(
    private readonly store: EventStore,
    private readonly db: Database.Database,
    private readonly projection: Projection<Change>,
    private readonly logger: RunnerLogger,
  ) {
    migrateCheckpoints(db);
    projection.migrate(db);
    this.changes.setMaxListeners(0);
    this.saveCheckpoint = db.prepare<[string, string]>(
      'INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position',
    );
    this.position = readCheckpoint(db, projection.name);
  }

  get name(): string {
    return this.projection.name;
  }

  /** The position of the last event applied and committed, or undefined before the first. */
  get checkpoint(): bigint | undefined {
    return this.position;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  start(): void {
    if (this.running) return;
    this.controller = new AbortController();
    this.running = this.loop(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.running;
    this.flush();
    this.running = undefined;
  }

  /** Drops the projection's rows and checkpoint, then replays the whole log from position 0. */
  async rebuild(): Promise<void> {
    await this.stop();
    this.db.transaction(() => {
      this.projection.reset(this.db);
      this.db.prepare('DELETE FROM checkpoints WHERE name = ?').run(this.projection.name);
    })();
    this.position = undefined;
    this.logger.info(`projection ${this.name}: rebuilding from position 0`);
    this.start();
  }

  onChange(listener: (change: Change) => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  /** Resolves once the projection has committed `position` (or later); false on timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    return waitForPosition(this.position, position, (listener) => {
      this.changes.on('checkpoint', listener);
      return () => this.changes.off('checkpoint', listener);
    }, timeoutMs);
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let backoff = 100;
    while (!signal.aborted) {
      try {
        const from = this.position;
        for await (const event of this.store.subscribeToAll({ ...(from !== undefined ? { after: from } : {}), signal })) {
          this.buffer.push(event);
          if (this.buffer.length >= BATCH) this.flush();
          else this.scheduleFlush();
        }
        this.flush();
        backoff = 100;
      } catch (error) {
        this.buffer = [];
        this.lastError = (error as Error).message;
        this.logger.error(`projection ${this.name}: subscription failed, retrying in ${backoff} ms`, error);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      try {
        this.flush();
      } catch (error) {
        // Nothing was committed: restart the subscription from the last checkpoint after a pause.
        this.lastError = (error as Error).message;
        this.logger.error(`projection ${this.name}: applying events failed, resubscribing from the checkpoint`, error);
        void this.stop().then(() => setTimeout(() => this.start(), 1_000).unref());
      }
    });
  }

  /** Applies the buffered events and moves the checkpoint in one transaction. */
  private flush(): void {
    if (this.buffer.length === 0 || !this.db.open) return;
    const events = this.buffer;
    this.buffer = [];
    const changes: Change[] = [];
    const last = events[events.length - 1]!.position;
    this.db.transaction(() => {
      for (const event of events) {
        const change = this.projection.apply(this.db, event);
        if (change !== undefined) changes.push(change);
      }
      this.saveCheckpoint.run(this.projection.name, last.toString());
    })();
    this.position = last;
    this.lastError = undefined;
    for (const change of changes) this.changes.emit('change', change);
    this.changes.emit('checkpoint', last);
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
