/**
 * The read side in-process: the views (live contact view and history) are projected by a worker
 * thread that follows the event store; this service reads them without waiting for locks. Commands never write here
 * and never wait for it.
 *
 * Read-your-writes is kept by the reads: each first waits (bounded) until the views have applied the log as it is at
 * that moment, so a read after any answered command (of this process or another on the same store) shows its change.
 */
import { Inject, Injectable } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { contactStreamId } from '#contacts';
import type { EmbeddedLog, EventStore } from '#event-store';
import { ViewsHost, viewsFileIn, type ContactView, type OnlineRebuildState } from '#projections';
import type { AppConfig } from '../config/configuration.js';
import type { StoreCapabilities } from '../infrastructure/event-store.provider.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER, STORE_CAPABILITIES } from '../infrastructure/tokens.js';
import { contactViewAt, type PointInTime } from './point-in-time.js';

/** What a request reads from the views (see `ViewsService.current`). */
export type CurrentViews = Pick<ViewsHost['reader'], 'contact' | 'list' | 'history' | 'hasHistory'>;

/** The longest a read waits for the views to reach the log's head. */
const READ_YOUR_WRITES_MS = 2_000;

/**
 * Views starting from nothing on a log at least this long are built by the online rebuild's bulk path and swapped
 * in, rather than replayed batch by batch (docs/operations.md, "Views from nothing on a long log").
 */
const FIRST_BUILD_MIN_EVENTS = 100_000;

@Injectable()
export class ViewsService {
  private readonly host: ViewsHost;
  private readonly embedded: EmbeddedLog | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(STORE_CAPABILITIES) { embeddedLog, viewsSource }: StoreCapabilities,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LOGGER) logger: AppLogger,
  ) {
    mkdirSync(config.dataDir, { recursive: true });
    this.embedded = embeddedLog;
    this.host = new ViewsHost({
      viewsFile: viewsFileIn(config.dataDir),
      source: viewsSource,
      storeTimeoutMs: config.storeTimeoutMs,
      firstBuildMinEvents: FIRST_BUILD_MIN_EVENTS,
      logger: logger.child({ component: 'views' }),
    });
  }

  async start(): Promise<void> {
    // This process's commits wake the views worker straight from the writer thread; other processes' are polled.
    const commits = this.embedded ? await this.embedded.commitNotifications() : undefined;
    await this.host.start(commits);
  }

  async stop(): Promise<void> {
    await this.host.stop();
  }

  /** The projections the views worker feeds, each at `checkpoint` or later. */
  get names(): string[] {
    return this.host.names;
  }

  get checkpoint(): bigint | undefined {
    return this.host.checkpoint;
  }

  get error(): string | undefined {
    return this.host.lastError;
  }

  /** Resolves, naming it, when the views worker stops without being asked to (see ViewsHost.failed). */
  failed(): Promise<string> {
    return this.host.failed();
  }

  /** Online rebuild (blue/green): false when one is already running. */
  startRebuild(): boolean {
    return this.host.startRebuild();
  }

  get rebuildState(): OnlineRebuildState {
    return this.host.rebuildState;
  }

  onChange(listener: (change: ContactView) => void): () => void {
    return this.host.onChange(listener);
  }

  /**
   * The views for one request's reads, once they have applied the log's head as it is now (waited for at most
   * `READ_YOUR_WRITES_MS`: past that, views rebuilding or held by a lock, they answer as they stand and /health shows
   * them behind). One wait serves every read of the request: a later read need not chase a head that moved since.
   */
  async current(): Promise<CurrentViews> {
    const head = await this.store.headPosition();
    if (head !== undefined) await this.host.waitFor(head, READ_YOUR_WRITES_MS);
    return this.host.reader;
  }

  /** The view as it stood at a position or a time: the contact stream folded up to it (not the live view). */
  async contactAt(contactId: string, at: PointInTime): Promise<ContactView | undefined> {
    return contactViewAt(await this.store.readStream(contactStreamId(contactId)), at);
  }
}
