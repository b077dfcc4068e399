/**
 * Is the live view faithful to the log? A replay of the log (rebuildViews, the same projections) into a scratch file
 * is compared with the live views.db row by row: contacts and each contact's history. The live view may move on
 * while this runs (the service keeps projecting): the replay stops at the live checkpoint read first, and rows the
 * live view changed after it are left out of the comparison rather than reported.
 */
import Database from 'better-sqlite3';
import { openReadConnection } from '#event-store';

export type ViewDifference = { contactId: string; what: string };
export type VerifyResult = {
  position: bigint;
  contacts: number;
  historyEntries: number;
  differences: ViewDifference[];
};

/** The position every projection of the live views has applied (the smallest checkpoint). */
export function liveCheckpoint(viewsFile: string): bigint {
  const db = openReadConnection(Database, viewsFile);
  try {
    const rows = db.prepare<[], { position: string }>('SELECT position FROM checkpoints').all();
    return rows.length === 0 ? 0n : rows.map((r) => BigInt(r.position)).reduce((a, b) => (a < b ? a : b));
  } finally {
    db.close();
  }
}

const CONTACT_COLUMNS = [
  'business_unit_id',
  'media_type',
  'skill',
  'state',
  'started_at',
  'ended_at',
  'ended_by',
  'disconnect_reason',
  'position',
] as const;
const HISTORY_COLUMNS = 'contact_id, type, data, metadata, position, recorded_at';
/** Positions are decimal text: compared by length, then as text. */
const atOrBefore = (column: string): string =>
  `(length(${column}) < length(@upTo) OR (length(${column}) = length(@upTo) AND ${column} <= @upTo))`;

/** Compares `replayFile` (a replay up to `upTo`) with the live `viewsFile`, reading the live one in one snapshot. */
export function compareViews(viewsFile: string, replayFile: string, upTo: bigint): VerifyResult {
  const db = openReadConnection(Database, viewsFile);
  try {
    db.prepare('ATTACH DATABASE ? AS replay').run(replayFile);
    const params = { upTo: upTo.toString() };
    const read = db.transaction(() => {
      const differences: ViewDifference[] = [];
      // Live rows the view changed after `upTo` cannot be compared with a replay that stops there.
      const changedSince = `SELECT contact_id FROM main.contacts WHERE NOT ${atOrBefore('position')}`;
      const differing = db
        .prepare<typeof params, string>(
          `SELECT contact_id FROM (SELECT * FROM main.contacts WHERE ${atOrBefore('position')} EXCEPT SELECT * FROM replay.contacts)
           UNION
           SELECT contact_id FROM (SELECT * FROM replay.contacts EXCEPT SELECT * FROM main.contacts) WHERE contact_id NOT IN (${changedSince})
           ORDER BY 1`,
        )
        .pluck()
        .all(params);
      const row = (schema: string) =>
        db.prepare<[string], Record<string, unknown>>(`SELECT * FROM ${schema}.contacts WHERE contact_id = ?`);
      for (const contactId of differing) {
        const live = row('main').get(contactId);
        const replayed = row('replay').get(contactId);
        if (!live) differences.push({ contactId, what: 'in the log, missing from the live view' });
        else if (!replayed) differences.push({ contactId, what: 'in the live view, not in the log' });
        else {
          for (const column of CONTACT_COLUMNS) {
            if (live[column] !== replayed[column]) {
              differences.push({
                contactId,
                what: `${column}: live ${JSON.stringify(live[column])}, log ${JSON.stringify(replayed[column])}`,
              });
            }
          }
        }
      }
      // History as multisets per contact: each entry, and how many there are.
      const entries = (from: string, to: string) =>
        db
          .prepare<typeof params, { contact_id: string; type: string; position: string }>(
            `SELECT contact_id, type, position FROM (SELECT ${HISTORY_COLUMNS} FROM ${from}.contact_history WHERE ${atOrBefore('position')}
             EXCEPT SELECT ${HISTORY_COLUMNS} FROM ${to}.contact_history WHERE ${atOrBefore('position')}) ORDER BY contact_id, length(position), position`,
          )
          .all(params);
      for (const e of entries('main', 'replay'))
        differences.push({
          contactId: e.contact_id,
          what: `history: live has ${e.type} at position ${e.position}, the log does not`,
        });
      for (const e of entries('replay', 'main'))
        differences.push({
          contactId: e.contact_id,
          what: `history: the log has ${e.type} at position ${e.position}, the live view does not`,
        });
      const counts = (from: string) =>
        `SELECT contact_id, count(*) AS n FROM ${from}.contact_history WHERE ${atOrBefore('position')} GROUP BY contact_id`;
      const countDiffs = db
        .prepare<typeof params, { contact_id: string; live: number | null; log: number | null }>(
          `SELECT l.contact_id, l.n AS live, r.n AS log FROM (${counts('main')}) AS l LEFT JOIN (${counts('replay')}) AS r USING (contact_id)
           WHERE r.n IS NULL OR r.n <> l.n ORDER BY 1`,
        )
        .all(params);
      for (const c of countDiffs) {
        if (!differences.some((d) => d.contactId === c.contact_id && d.what.startsWith('history'))) {
          differences.push({
            contactId: c.contact_id,
            what: `history: live has ${c.live} entries, the log ${c.log ?? 0}`,
          });
        }
      }
      const contacts = db.prepare<[], number>('SELECT count(*) FROM replay.contacts').pluck().get()!;
      const historyEntries = db.prepare<[], number>('SELECT count(*) FROM replay.contact_history').pluck().get()!;
      return { position: upTo, contacts, historyEntries, differences };
    });
    return read();
  } finally {
    db.close();
  }
}
