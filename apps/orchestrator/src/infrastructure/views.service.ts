/**
 * The read side in-process: the views database and its subscriptions (live contact view, directory view).
 * Commands never write here; the runners follow the event store.
 */
import { Inject, Injectable } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EventStore } from '../../../../libs/event-store/src/index.js';
import {
  SubscriptionRunner,
  contactHistory,
  contactViewProjection,
  directoryViewProjection,
  findContact,
  listContacts,
  openViewsDatabase,
  type ContactQuery,
  type ContactView,
  type HistoryEntry,
} from '../../../../libs/projections/src/index.js';
import type { AppConfig } from '../config/configuration.js';
import type { AppLogger } from './logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER } from './tokens.js';

@Injectable()
export class ViewsService {
  readonly db: Database.Database;
  readonly contacts: SubscriptionRunner<ContactView>;
  readonly directory: SubscriptionRunner<void>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LOGGER) logger: AppLogger,
  ) {
    mkdirSync(config.dataDir, { recursive: true });
    this.db = openViewsDatabase(join(config.dataDir, 'views.db'));
    const runnerLogger = {
      info: (message: string) => logger.info(message),
      error: (message: string, err?: unknown) => logger.error({ err }, message),
    };
    this.contacts = new SubscriptionRunner(store, this.db, contactViewProjection, runnerLogger);
    this.directory = new SubscriptionRunner(store, this.db, directoryViewProjection, runnerLogger);
  }

  start(): void {
    this.contacts.start();
    this.directory.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.contacts.stop(), this.directory.stop()]);
    if (this.db.open) this.db.close();
  }

  /** Read-your-writes for HTTP callers: wait (bounded) until the contact view has applied `position`. */
  async caughtUp(position: string, timeoutMs = 2_000): Promise<boolean> {
    return this.contacts.waitFor(BigInt(position), timeoutMs);
  }

  contact(contactId: string): ContactView | undefined {
    return findContact(this.db, contactId);
  }

  list(query: ContactQuery): { items: ContactView[]; next?: string } {
    return listContacts(this.db, query);
  }

  history(contactId: string): HistoryEntry[] {
    return contactHistory(this.db, contactId);
  }
}
