/**
 * The views seen from the service's event loop: a worker thread projects (see views-worker.ts); this side knows
 * how far it got, hears what changed (for live streams), waits for a position (read-your-writes), and reads the
 * views through a connection that never waits for a lock (see ViewsReader).
 */
import { EventEmitter } from 'node:events';
import { startWorker, waitForPosition } from '#event-store';
import type { Log } from '#runtime';
import type { ContactView } from './contact-view.js';
import { nextViewsFile, type OnlineRebuildState } from './online-rebuild.js';
import type { FromOnlineRebuildWorker, OnlineRebuildWorkerData } from './online-rebuild-worker.js';
import { ViewsReader } from './views-reader.js';
import type { FromViewsWorker, ToViewsWorker, ViewsSource, ViewsWorkerData } from './views-worker.js';
import type { MessagePort, Worker } from 'node:worker_threads';

export type ViewsHostOptions = {
  viewsFile: string;
  source: ViewsSource;
  storeTimeoutMs: number;
  logger: Log;
  maxBatch?: number;
  /**
   * Views with nothing applied yet on an embedded log at least this long are first built by the online rebuild
   * (bulk, indexes once) while the views thread holds; it then follows the log from where the build ended.
   */
  firstBuildMinEvents?: number;
};

export class ViewsHost {
  private readonly events = new EventEmitter();
  private worker: Worker | undefined;
  /** Settles when the running worker has exited, whether asked to (stop) or not (a crash): stop() waits on it. */
  private workerExited: Promise<void> = Promise.resolve();
  /** Why the worker stopped without being asked to, once it has. */
  private stoppedWith: string | undefined;
  private readonly failedWith: Promise<string>;
  private fail: (reason: string) => void = () => undefined;
  private position: bigint | undefined;
  private error: string | undefined;
  private projectionNames: string[] = [];
  private viewsReader: ViewsReader | undefined;
  private builder: Worker | undefined;
  private rebuilding: OnlineRebuildState = { state: 'idle', position: '0', head: '0' };
  /** The views thread waits for the first build's swap before following the log (see firstBuildMinEvents). */
  private holding = false;

  constructor(private readonly options: ViewsHostOptions) {
    this.events.setMaxListeners(0);
    this.failedWith = new Promise<string>((resolve) => (this.fail = resolve));
  }

  /** Starts the worker (`commits`: the store's commit notifications, see SqliteEventStore.commitNotifications);
   *  resolves once the views database is open and migrated. */
  async start(commits?: MessagePort): Promise<void> {
    if (this.worker) return;
    const { viewsFile, source, storeTimeoutMs, maxBatch, firstBuildMinEvents } = this.options;
    const data: ViewsWorkerData = {
      viewsFile,
      source,
      storeTimeoutMs,
      ...(maxBatch !== undefined ? { maxBatch } : {}),
      ...(firstBuildMinEvents !== undefined ? { firstBuildMinEvents } : {}),
      ...(commits ? { commits } : {}),
    };
    let holding = false;
    const worker = (this.worker = startWorker(import.meta.url, 'views-worker', data, commits ? [commits] : []));
    this.workerExited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    let failedToStart: ((error: Error) => void) | undefined;
    let exitedBeforeStarting: ((code: number) => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        failedToStart = reject;
        exitedBeforeStarting = (code) => reject(new Error(`views worker exited with ${code} before starting`));
        worker.once('error', failedToStart);
        worker.once('exit', exitedBeforeStarting);
        worker.on('message', (message: FromViewsWorker) => {
          if (message.kind === 'started') {
            this.position = message.checkpoint;
            holding = message.holding;
            this.projectionNames = message.projections;
            if (this.events.listenerCount('change') > 0) this.listening(true);
            resolve();
          } else this.onMessage(message);
        });
      });
    } finally {
      worker.off('error', failedToStart!).off('exit', exitedBeforeStarting!);
    }
    let crash: string | undefined;
    worker.on('error', (error: unknown) => {
      // What crosses from the thread may be a plain object (a SqliteError's clone), not an Error.
      crash = String((error as { message?: unknown } | undefined)?.message ?? error);
      this.error = `views worker failed: ${crash}`;
      this.options.logger.error(this.error);
    });
    worker.on('exit', (code) => {
      // Not asked to stop: /health reports the views down rather than silently stale, and whoever runs the host
      // hears of it (failed()). A rebuild waiting for this thread's swap can no longer finish.
      if (this.worker !== worker) return;
      this.stoppedWith = `views worker stopped (exit code ${code})${crash === undefined ? '' : `: ${crash}`}`;
      this.error = this.stoppedWith;
      this.options.logger.error(this.error);
      if (this.rebuilding.state === 'swapping' || this.rebuilding.state === 'building') {
        void this.builder?.terminate();
        this.failRebuild(this.stoppedWith);
      }
      this.fail(this.stoppedWith);
    });
    this.viewsReader = new ViewsReader(viewsFile, storeTimeoutMs);
    if (holding) {
      this.holding = true;
      this.options.logger.info(
        `views: none applied yet on a log of ${firstBuildMinEvents} events or more; building them with the online rebuild, then following the log from where it ends (GET /v1/admin/views/rebuild shows its progress)`,
      );
      this.startRebuild();
    }
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    await this.builder?.terminate();
    this.post(worker, { kind: 'stop' });
    const timer = setTimeout(() => void worker.terminate(), 15_000);
    // Settled already when the worker exited before (a crash): its exit event is not waited for again.
    await this.workerExited;
    clearTimeout(timer);
    this.viewsReader?.close();
  }

  get reader(): ViewsReader {
    if (!this.viewsReader) throw new Error('the views are not started');
    return this.viewsReader;
  }

  /** The projections fed by the worker (each is at `checkpoint` or later). */
  get names(): string[] {
    return this.projectionNames;
  }

  get checkpoint(): bigint | undefined {
    return this.position;
  }

  get lastError(): string | undefined {
    return this.error;
  }

  /** Why the worker stopped without being asked to (it crashed or was terminated), or undefined while it runs. */
  get failure(): string | undefined {
    return this.stoppedWith;
  }

  /** Resolves when the worker stops without being asked to (see `failure`); never once stop() is called. */
  failed(): Promise<string> {
    return this.failedWith;
  }

  /** The online rebuild's progress (docs/design.md, Audit and replay). */
  get rebuildState(): OnlineRebuildState {
    return { ...this.rebuilding };
  }

  /**
   * Starts an online rebuild: build the next views in a worker thread, then have the views thread swap them in.
   * False when one is already running.
   */
  startRebuild(): boolean {
    if (this.rebuilding.state === 'building' || this.rebuilding.state === 'swapping') return false;
    const { source, viewsFile, storeTimeoutMs, logger } = this.options;
    const worker = this.worker;
    if (!worker) throw new Error('the views are not started');
    const startedAt = new Date().toISOString();
    const fail = (error: string): void => this.failRebuild(error);
    this.rebuilding = { state: 'building', position: '0', head: (this.position ?? 0n).toString(), startedAt };
    if (this.stoppedWith !== undefined) {
      fail(`nothing can swap the rebuilt views in: ${this.stoppedWith}`);
      return true;
    }
    if (source.kind !== 'sqlite') {
      fail(
        'the online rebuild needs the embedded event store (with EventStoreDB: npm run views:rebuild, service stopped)',
      );
      return true;
    }
    const nextFile = nextViewsFile(viewsFile);
    const data: OnlineRebuildWorkerData = { eventsFile: source.file, nextFile, storeTimeoutMs };
    const builder = (this.builder = startWorker(import.meta.url, 'online-rebuild-worker', data));
    let built = false;
    builder.on('message', (message: FromOnlineRebuildWorker) => {
      if (message.kind === 'progress') {
        this.rebuilding = {
          ...this.rebuilding,
          position: message.position.toString(),
          head: message.head.toString(),
          eventsPerSecond: Math.round(message.events / Math.max(message.seconds, 1e-3)),
        };
      } else if (message.kind === 'built') {
        built = true;
        if (this.rebuilding.state !== 'building') return;
        this.rebuilding = {
          ...this.rebuilding,
          state: 'swapping',
          position: message.head.toString(),
          head: message.head.toString(),
          eventsPerSecond: Math.round(message.events / Math.max(message.seconds, 1e-3)),
        };
        logger.info(`online rebuild: ${message.events} events replayed in ${message.seconds.toFixed(2)} s; swapping`);
        this.post(worker, { kind: 'swap', nextFile });
      } else fail(message.error);
    });
    builder.once('error', (error) => fail(error.message));
    builder.once('exit', (code) => {
      if (this.builder === builder) this.builder = undefined;
      if (!built && this.rebuilding.state === 'building') fail(`the rebuild worker exited with ${code}`);
    });
    return true;
  }

  private failRebuild(error: string): void {
    this.rebuilding = { ...this.rebuilding, state: 'failed', error, finishedAt: new Date().toISOString() };
    this.options.logger.error(`online rebuild failed: ${error}`);
    this.release('the first build failed: replaying the log batch by batch instead');
  }

  /** A views thread held for the first build follows the log from now on. */
  private release(why: string): void {
    if (!this.holding) return;
    this.holding = false;
    if (this.worker) {
      this.options.logger.warn(`views: ${why}`);
      this.post(this.worker, { kind: 'follow' });
    }
  }

  /** The worker reads back what each batch changed only while someone listens. */
  onChange(listener: (change: ContactView) => void): () => void {
    this.events.on('change', listener);
    if (this.events.listenerCount('change') === 1) this.listening(true);
    return () => {
      this.events.off('change', listener);
      if (this.events.listenerCount('change') === 0) this.listening(false);
    };
  }

  private listening(on: boolean): void {
    if (this.worker) this.post(this.worker, { kind: 'changes', on });
  }

  /** Resolves once the views have committed `position` (or later); false on timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    return waitForPosition(
      this.position,
      position,
      (listener) => {
        this.events.on('checkpoint', listener);
        return () => this.events.off('checkpoint', listener);
      },
      timeoutMs,
    );
  }

  private post(worker: Worker, message: ToViewsWorker): void {
    worker.postMessage(message);
  }

  private onMessage(message: FromViewsWorker): void {
    switch (message.kind) {
      case 'committed':
        this.position = message.position;
        for (const change of message.changes) this.events.emit('change', change);
        this.events.emit('checkpoint', message.position);
        return;
      case 'running':
        this.error = undefined;
        return;
      case 'failed':
        this.error = message.error;
        return;
      case 'log':
        this.options.logger[message.level](`views: ${message.message}`);
        return;
      case 'swapped':
        // The views thread follows the log from here (a held one starts now): the views are at this position.
        this.holding = false;
        if (this.position === undefined || this.position < message.position) {
          this.position = message.position;
          this.events.emit('checkpoint', message.position);
        }
        this.rebuilding = {
          ...this.rebuilding,
          state: 'done',
          position: message.position.toString(),
          finishedAt: new Date().toISOString(),
        };
        this.options.logger.info(
          `online rebuild: swapped in at position ${message.position} (the views thread took ${message.ms} ms)`,
        );
        return;
      case 'swap-failed':
        this.rebuilding = {
          ...this.rebuilding,
          state: 'failed',
          error: message.error,
          finishedAt: new Date().toISOString(),
        };
        this.options.logger.error(`online rebuild failed at the swap: ${message.error}`);
        this.release('the first build could not be swapped in: replaying the log batch by batch instead');
        return;
      case 'started':
      case 'stopped':
        return;
    }
  }
}
