/**
 * The live contact view and each contact's history (its own events and the refusals that named it), applied a
 * batch at a time by set-based SQL (see Projection). Rebuilt by replay from position 0; positions are stored as
 * decimal text because an EventStoreDB position does not fit a 64-bit integer.
 */
import type Database from 'better-sqlite3';
import type { ContactView } from './contact-view-type.js';
import type { BatchRange, Projection } from './projection.js';
import { statement } from './statements.js';

export type { ContactView };

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
const SORT_KEY_SQL = (id: string): string =>
  `CASE WHEN length(${id}) >= 19 THEN ${id} ELSE substr('0000000000000000000' || (${id}), -19) END`;
/**
 * A refusal names a contact only when its ID is well formed; a malformed one stays in the audit stream alone. So
 * does an anonymous refusal (no credential the service ever signed, so no agent): anyone can write one, with a
 * correlation ID of their choosing, and it must not shape a unit's contact history.
 */
const NAMES_A_CONTACT = `(b.type = 'EndContactRejected' AND typeof(b.data->>'contactId') = 'text'
  AND length(b.data->>'contactId') BETWEEN 1 AND 19 AND (b.data->>'contactId') NOT GLOB '*[^0-9]*'
  AND NOT (b.data->>'reason' = 'InvalidSecurityUser' AND b.data->>'agentId' IS NULL))`;

/**
 * The columns a ContactStarted and a ContactEnded set, each with the expression that reads it from the event `b`:
 * written once for the live projection, the rebuild's and its merge (projection.int.spec.ts compares the views the
 * two ways build).
 */
const STARTED_FIELDS = {
  business_unit_id: "b.data->>'businessUnitId'",
  media_type: "b.data->>'mediaType'",
  skill: "b.data->>'skill'",
  started_at: "b.data->>'startedAt'",
};
const ENDED_FIELDS = {
  ended_at: "b.data->>'endedAt'",
  ended_by: "b.data->>'endedBy'",
  disconnect_reason: "b.data->>'disconnectReason'",
};
type Fields = Record<string, string>;
const columnsOf = (fields: Fields, prefix = ''): string =>
  Object.keys(fields)
    .map((column) => prefix + column)
    .join(', ');
const valuesOf = (fields: Fields): string => Object.values(fields).join(', ');
/** `column = <from>.column, …`. */
const assignedFrom = (fields: Fields, from: string): string =>
  Object.keys(fields)
    .map((column) => `${column} = ${from}.${column}`)
    .join(', ');
/** `<expression> AS column, …`. */
const selectedAs = (fields: Fields): string =>
  Object.entries(fields)
    .map(([column, expression]) => `${expression} AS ${column}`)
    .join(', ');

export const contactViewProjection: Projection<ContactView> = {
  name: 'contact-view',
  tables: [
    `CREATE TABLE IF NOT EXISTS contacts (
      contact_id TEXT PRIMARY KEY, sort_key TEXT NOT NULL, business_unit_id TEXT NOT NULL, media_type TEXT NOT NULL,
      skill TEXT, state TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, ended_by TEXT,
      disconnect_reason TEXT, position TEXT NOT NULL) WITHOUT ROWID`,
  ],
  indexes: [
    'CREATE INDEX IF NOT EXISTS contacts_bu_order ON contacts (business_unit_id, sort_key, contact_id)',
    'CREATE INDEX IF NOT EXISTS contacts_order ON contacts (sort_key, contact_id)',
  ],
  reset: ['DELETE FROM contacts'],
  // In this order: a contact started and ended in one batch is inserted, then ended.
  apply: (batch) => [
    `INSERT INTO contacts (contact_id, sort_key, ${columnsOf(STARTED_FIELDS)}, state, position)
     SELECT b.data->>'contactId', ${SORT_KEY_SQL("b.data->>'contactId'")}, ${valuesOf(STARTED_FIELDS)}, 'Active',
            b.position
     FROM ${batch} AS b WHERE b.type = 'ContactStarted' ORDER BY b.ord
     ON CONFLICT(contact_id) DO NOTHING`,
    `UPDATE contacts SET state = 'Ended', ${assignedFrom(ENDED_FIELDS, 'e')}, position = e.position
     FROM (SELECT b.data->>'contactId' AS contact_id, ${selectedAs(ENDED_FIELDS)}, b.position
           FROM ${batch} AS b WHERE b.type = 'ContactEnded') AS e
     WHERE contacts.contact_id = e.contact_id`,
  ],
  current(db, batch, range) {
    return statement<BatchRange, ContactRow>(
      db,
      `SELECT c.* FROM ${batch} AS b JOIN contacts AS c ON c.contact_id = b.data->>'contactId'
       WHERE b.type IN ('ContactStarted', 'ContactEnded') ORDER BY b.ord`,
    )
      .all(range)
      .map(toView);
  },
};

/**
 * The contact view as an offline rebuild builds it (rebuild.ts), in two steps that give the same rows as
 * contactViewProjection applied batch by batch. First this projection, on the rebuild's second thread: each contact's
 * first start and last end, each into a table of its own, inserts only (the live projection's UPDATE of a row that
 * grows is what costs there: 5,034,387 events, 18.9 s the live way, 11.7 s this way). Then `mergeContactView`, on the
 * first thread: one pass over both in contact-ID order writes each row once, at its final size. An end names a
 * contact that started before it (a contact's stream holds its start first), so the last end of a started contact is
 * the one the live view shows; an end of a contact never started shows nowhere, as live.
 */
export const contactViewRebuildProjection: Projection<never> = {
  name: contactViewProjection.name,
  tables: [
    `CREATE TABLE IF NOT EXISTS contacts_started (
      contact_id TEXT PRIMARY KEY, business_unit_id TEXT NOT NULL, media_type TEXT NOT NULL, skill TEXT,
      started_at TEXT NOT NULL, position TEXT NOT NULL) WITHOUT ROWID`,
    `CREATE TABLE IF NOT EXISTS contacts_ended (
      contact_id TEXT PRIMARY KEY, ended_at TEXT, ended_by TEXT, disconnect_reason TEXT, position TEXT NOT NULL)
      WITHOUT ROWID`,
  ],
  indexes: [],
  reset: ['DELETE FROM contacts_started', 'DELETE FROM contacts_ended'],
  apply: (batch) => [
    `INSERT INTO contacts_started (contact_id, ${columnsOf(STARTED_FIELDS)}, position)
     SELECT b.data->>'contactId', ${valuesOf(STARTED_FIELDS)}, b.position
     FROM ${batch} AS b WHERE b.type = 'ContactStarted' ORDER BY b.ord
     ON CONFLICT(contact_id) DO NOTHING`,
    // WHERE true: an upsert's SELECT needs a WHERE for SQLite to parse ON CONFLICT as the upsert's.
    `INSERT INTO contacts_ended (contact_id, ${columnsOf(ENDED_FIELDS)}, position)
     SELECT b.data->>'contactId', ${valuesOf(ENDED_FIELDS)}, b.position
     FROM ${batch} AS b WHERE b.type = 'ContactEnded' AND true ORDER BY b.ord
     ON CONFLICT(contact_id) DO UPDATE SET ${assignedFrom(ENDED_FIELDS, 'excluded')}, position = excluded.position`,
  ],
};

/** Fills `contacts` (created empty) from contactViewRebuildProjection's two tables in schema `from`. */
export function mergeContactView(db: Database.Database, from: string): void {
  db.exec(
    `INSERT INTO contacts (contact_id, sort_key, ${columnsOf(STARTED_FIELDS)}, state, ${columnsOf(ENDED_FIELDS)},
       position)
     SELECT s.contact_id, ${SORT_KEY_SQL('s.contact_id')}, ${columnsOf(STARTED_FIELDS, 's.')},
            CASE WHEN e.contact_id IS NULL THEN 'Active' ELSE 'Ended' END, ${columnsOf(ENDED_FIELDS, 'e.')},
            coalesce(e.position, s.position)
     FROM ${from}.contacts_started AS s LEFT JOIN ${from}.contacts_ended AS e ON e.contact_id = s.contact_id
     ORDER BY s.contact_id`,
  );
}

/** Each contact's history: its own events and the refusals that named it, in log order. */
export const contactHistoryProjection: Projection<never> = {
  name: 'contact-history',
  tables: [
    `CREATE TABLE IF NOT EXISTS contact_history (
      seq INTEGER PRIMARY KEY, contact_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
      metadata TEXT NOT NULL, position TEXT NOT NULL, recorded_at TEXT NOT NULL)`,
  ],
  indexes: ['CREATE INDEX IF NOT EXISTS contact_history_contact ON contact_history (contact_id, seq)'],
  reset: ['DELETE FROM contact_history'],
  apply: (batch) => [
    `INSERT INTO contact_history (contact_id, type, data, metadata, position, recorded_at)
     SELECT b.data->>'contactId', b.type, b.data, b.metadata, b.position, b.recorded_at
     FROM ${batch} AS b WHERE b.type IN ('ContactStarted', 'ContactEnded') OR ${NAMES_A_CONTACT} ORDER BY b.ord`,
  ],
};

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
  if (query.state) {
    where.push('state = ?');
    params.push(query.state);
  }
  if (query.mediaType) {
    where.push('media_type = ?');
    params.push(query.mediaType);
  }
  if (query.businessUnitId) {
    where.push('business_unit_id = ?');
    params.push(query.businessUnitId);
  }
  // IDs such as 7 and 007 share a sort key: the ID itself breaks the tie, so paging visits each exactly once.
  if (query.after) {
    where.push('(sort_key, contact_id) > (?, ?)');
    params.push(contactSortKey(query.after), query.after);
  }
  const sql = `SELECT * FROM contacts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY sort_key, contact_id LIMIT ?`;
  const rows = statement<Array<string | number>, ContactRow>(db, sql).all(...params, query.limit + 1);
  const items = rows.slice(0, query.limit).map(toView);
  return rows.length > query.limit ? { items, next: items[items.length - 1]!.contactId } : { items };
}

export type HistoryQuery = {
  limit: number;
  /** Cursor: the position of the last entry of the previous page. */
  after?: string;
  /** Only entries of this business unit, and those that name none (an agent's reading). */
  businessUnitId?: string;
};

/**
 * One page of a contact's history in log order. Positions are decimal strings of any length (an EventStoreDB
 * position is 128 bits): ordered by length, then text, which is numeric order without leading zeros.
 */
export function contactHistory(
  db: Database.Database,
  contactId: string,
  query: HistoryQuery,
): { events: HistoryEntry[]; next?: string } {
  const where = ['contact_id = ?'];
  const params: Array<string | number> = [contactId];
  if (query.after !== undefined) {
    where.push('(length(position), position) > (?, ?)');
    params.push(query.after.length, query.after);
  }
  if (query.businessUnitId !== undefined) {
    where.push(`(data->>'businessUnitId' IS NULL OR data->>'businessUnitId' = ?)`);
    params.push(query.businessUnitId);
  }
  const rows = statement<
    Array<string | number>,
    { type: string; data: string; metadata: string; position: string; recorded_at: string }
  >(
    db,
    `SELECT type, data, metadata, position, recorded_at FROM contact_history WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`,
  ).all(...params, query.limit + 1);
  const events = rows.slice(0, query.limit).map((r) => ({
    type: r.type,
    data: JSON.parse(r.data) as Record<string, unknown>,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    position: r.position,
    recordedAt: r.recorded_at,
  }));
  return rows.length > query.limit ? { events, next: events[events.length - 1]!.position } : { events };
}

/** Whether the history names this contact at all (a contact with no row is unknown). */
export function hasHistory(db: Database.Database, contactId: string): boolean {
  return (
    statement<[string], { n: number }>(db, 'SELECT 1 AS n FROM contact_history WHERE contact_id = ? LIMIT 1').get(
      contactId,
    ) !== undefined
  );
}
