/**
 * The live contact view and each contact's history (its own events and the refusals that named it).
 * Rebuilt by replay from position 0; positions are stored as decimal text because an EventStoreDB position
 * does not fit a 64-bit integer.
 */
import type Database from 'better-sqlite3';
import type { Projection } from './projection.js';
import { statement } from './statements.js';
import type { ViewEvent } from './view-event.js';

export type ContactView = {
  contactId: string;
  businessUnitId: string;
  mediaType: string;
  skill?: string;
  state: 'Active' | 'Ended';
  startedAt: string;
  endedAt?: string;
  endedBy?: string;
  disconnectReason?: string;
  position: string;
};

export type HistoryEntry = {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  position: string;
  recordedAt: string;
};

type ContactRow = {
  contact_id: string;
  business_unit_id: string;
  media_type: string;
  skill: string | null;
  state: 'Active' | 'Ended';
  started_at: string;
  ended_at: string | null;
  ended_by: string | null;
  disconnect_reason: string | null;
  position: string;
};

/** Numeric contact IDs sort as numbers when left-padded. */
export const contactSortKey = (contactId: string): string => contactId.padStart(19, '0');

export const contactViewProjection: Projection<ContactView> = {
  name: 'contact-view',
  migrate(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS contacts (
        contact_id TEXT PRIMARY KEY, sort_key TEXT NOT NULL, business_unit_id TEXT NOT NULL, media_type TEXT NOT NULL,
        skill TEXT, state TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, ended_by TEXT,
        disconnect_reason TEXT, position TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS contacts_bu_order ON contacts (business_unit_id, sort_key, contact_id);
      CREATE INDEX IF NOT EXISTS contacts_order ON contacts (sort_key, contact_id);
      CREATE TABLE IF NOT EXISTS contact_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, contact_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
        metadata TEXT NOT NULL, position TEXT NOT NULL, recorded_at TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS contact_history_contact ON contact_history (contact_id, seq);`);
  },
  reset(db) {
    db.exec('DELETE FROM contacts; DELETE FROM contact_history;');
  },
  apply(db, event) {
    switch (event.type) {
      case 'ContactStarted': {
        const d = event.data as { contactId: string; businessUnitId: string; mediaType: string; skill?: string; startedAt: string };
        statement(db, 
          `INSERT INTO contacts (contact_id, sort_key, business_unit_id, media_type, skill, state, started_at, position)
           VALUES (?, ?, ?, ?, ?, 'Active', ?, ?) ON CONFLICT(contact_id) DO NOTHING`,
        ).run(d.contactId, contactSortKey(d.contactId), d.businessUnitId, d.mediaType, d.skill ?? null, d.startedAt, event.position.toString());
        addHistory(db, d.contactId, event);
        return;
      }
      case 'ContactEnded': {
        const d = event.data as { contactId: string; endedBy: string; disconnectReason: string; endedAt: string };
        statement(db, 
          `UPDATE contacts SET state = 'Ended', ended_at = ?, ended_by = ?, disconnect_reason = ?, position = ? WHERE contact_id = ?`,
        ).run(d.endedAt, d.endedBy, d.disconnectReason, event.position.toString(), d.contactId);
        addHistory(db, d.contactId, event);
        return;
      }
      case 'EndContactRejected': {
        const contactId = (event.data as { contactId?: unknown }).contactId;
        // Only a well-formed ID can name a contact; a malformed one stays in the audit stream alone.
        if (typeof contactId === 'string' && /^[0-9]{1,19}$/.test(contactId)) addHistory(db, contactId, event);
        return;
      }
      default:
        return;
    }
  },
  current(db, event) {
    if (event.type !== 'ContactStarted' && event.type !== 'ContactEnded') return undefined;
    return findContact(db, (event.data as { contactId: string }).contactId);
  },
};

function addHistory(db: Database.Database, contactId: string, event: ViewEvent): void {
  statement(db, 'INSERT INTO contact_history (contact_id, type, data, metadata, position, recorded_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    contactId,
    event.type,
    event.dataJson,
    event.metadataJson,
    event.position.toString(),
    event.recordedAt,
  );
}

const toView = (row: ContactRow): ContactView => ({
  contactId: row.contact_id,
  businessUnitId: row.business_unit_id,
  mediaType: row.media_type,
  ...(row.skill !== null ? { skill: row.skill } : {}),
  state: row.state,
  startedAt: row.started_at,
  ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
  ...(row.ended_by !== null ? { endedBy: row.ended_by } : {}),
  ...(row.disconnect_reason !== null ? { disconnectReason: row.disconnect_reason } : {}),
  position: row.position,
});

export function findContact(db: Database.Database, contactId: string): ContactView | undefined {
  const row = statement<[string], ContactRow>(db, 'SELECT * FROM contacts WHERE contact_id = ?').get(contactId);
  return row ? toView(row) : undefined;
}

export type ContactQuery = {
  state?: 'Active' | 'Ended';
  mediaType?: string;
  businessUnitId?: string;
  limit: number;
  /** Cursor: the last contactId of the previous page. */
  after?: string;
};

export function listContacts(db: Database.Database, query: ContactQuery): { items: ContactView[]; next?: string } {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (query.state) where.push('state = ?') && params.push(query.state);
  if (query.mediaType) where.push('media_type = ?') && params.push(query.mediaType);
  if (query.businessUnitId) where.push('business_unit_id = ?') && params.push(query.businessUnitId);
  // IDs such as 7 and 007 share a sort key: the ID itself breaks the tie, so paging visits each exactly once.
  if (query.after) where.push('(sort_key, contact_id) > (?, ?)') && params.push(contactSortKey(query.after), query.after);
  const sql = `SELECT * FROM contacts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY sort_key, contact_id LIMIT ?`;
  const rows = statement<Array<string | number>, ContactRow>(db, sql).all(...params, query.limit + 1);
  const items = rows.slice(0, query.limit).map(toView);
  return rows.length > query.limit ? { items, next: items[items.length - 1]!.contactId } : { items };
}

export function contactHistory(db: Database.Database, contactId: string): HistoryEntry[] {
  return statement<[string], { type: string; data: string; metadata: string; position: string; recorded_at: string }>(
    db,
    'SELECT type, data, metadata, position, recorded_at FROM contact_history WHERE contact_id = ? ORDER BY seq',
  )
    .all(contactId)
    .map((r) => ({
      type: r.type,
      data: JSON.parse(r.data) as Record<string, unknown>,
      metadata: JSON.parse(r.metadata) as Record<string, unknown>,
      position: r.position,
      recordedAt: r.recorded_at,
    }));
}
