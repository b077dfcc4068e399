/**
 * Reads of the views from the service's event loop. The connection never waits for a lock (WAL readers need none;
 * a held one is retried from a timer up to STORE_TIMEOUT_MS, then the store is reported unavailable).
 */
import Database from 'better-sqlite3';
import { openReadConnection, withoutWaiting } from '#event-store';
import {
  contactHistory,
  findContact,
  hasHistory,
  listContacts,
  type ContactQuery,
  type ContactView,
  type HistoryEntry,
  type HistoryQuery,
} from './contact-view.js';

export class ViewsReader {
  private readonly db: Database.Database;

  constructor(
    file: string,
    private readonly timeoutMs: number,
  ) {
    this.db = openReadConnection(Database, file);
  }

  contact(contactId: string): Promise<ContactView | undefined> {
    return withoutWaiting(this.db, () => findContact(this.db, contactId), this.timeoutMs);
  }

  list(query: ContactQuery): Promise<{ items: ContactView[]; next?: string }> {
    return withoutWaiting(this.db, () => listContacts(this.db, query), this.timeoutMs);
  }

  history(contactId: string, query: HistoryQuery): Promise<{ events: HistoryEntry[]; next?: string }> {
    return withoutWaiting(this.db, () => contactHistory(this.db, contactId, query), this.timeoutMs);
  }

  hasHistory(contactId: string): Promise<boolean> {
    return withoutWaiting(this.db, () => hasHistory(this.db, contactId), this.timeoutMs);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
