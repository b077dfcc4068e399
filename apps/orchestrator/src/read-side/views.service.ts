/**
 * The read side in-process: the views (live contact view and history) are projected by a worker
 * thread that follows the event store; this service reads them without waiting for locks and waits (bounded) for
 * a position when a command answer promises read-your-writes. Commands never write here.
 */
import { Inject, Injectable } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { contactStreamId } from '#contacts';
import { SqliteEventStore, type EventStore } from '#event-store';
import { ViewsHost, type ContactQuery, type ContactView, type HistoryEntry, type HistoryQuery, type OnlineRebuildState, type ViewsSource } from '#projections';
import type { AppConfig } from '../config/configuration.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER } from '../infrastructure/tokens.js';
import { contactViewAt, type PointInTime } from './point-in-time.js';

@Injectable()
export class ViewsService {
  private readonly host: ViewsHost;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LOGGER) logger: AppLogger,
  ) {
    mkdirSync(config.dataDir, { recursive: true });
    const source: ViewsSource =
      store instanceof SqliteEventStore ? { kind: 'sqlite', file: store.file } : { kind: 'esdb', connectionString: config.esdbConnectionString! };
    this.host = new ViewsHost({
      viewsFile: join(config.dataDir, 'views.db'),
      source,
      storeTimeoutMs: config.storeTimeoutMs,
      logger: logger.child({ component: 'views' }),
    });
  }

  async start(): Promise<void> {
    // This process's commits wake the views worker straight from the writer thread; other processes' are polled.
    const commits = this.store instanceof SqliteEventStore ? await this.store.commitNotifications() : undefined;
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

  /** Read-your-writes for HTTP callers: wait (bounded) until the views have applied `position`. */
  caughtUp(position: string, timeoutMs = 2_000): Promise<boolean> {
    return this.host.waitFor(BigInt(position), timeoutMs);
  }

  contact(contactId: string): Promise<ContactView | undefined> {
    return this.host.reader.contact(contactId);
  }

  /** The view as it stood at a position or a time: the contact stream folded up to it (not the live view). */
  async contactAt(contactId: string, at: PointInTime): Promise<ContactView | undefined> {
    return contactViewAt(await this.store.readStream(contactStreamId(contactId)), at);
  }

  list(query: ContactQuery): Promise<{ items: ContactView[]; next?: string }> {
    return this.host.reader.list(query);
  }

  history(contactId: string, query: HistoryQuery): Promise<{ events: HistoryEntry[]; next?: string }> {
    return this.host.reader.history(contactId, query);
  }

  hasHistory(contactId: string): Promise<boolean> {
    return this.host.reader.hasHistory(contactId);
  }
}
