/**
 * The embedded log's pages for the audit export, read without parsing: SQLite extracts the few fields a filter
 * looks at, and the line is the stored JSON put together as text. The same lines as recordOf() makes from the port
 * (the stored data and metadata are JSON.stringify's output), at a fraction of the garbage: the export of a large
 * log keeps the service's memory flat.
 *
 * `scanner` also applies the filter's fields in SQLite, over a window of positions at a time: the rows an auditor of
 * one business unit does not see never reach JavaScript, and each window is a short, bounded step of the event loop.
 */
import Database from 'better-sqlite3';
import { openReadConnection, withoutWaiting } from '#event-store';
import type { AuditFilter, AuditRecord, LogPages, Scan } from './audit-events.js';

/** SQLite's largest integer: a scan with no upper bound. */
const LAST_POSITION = 9_223_372_036_854_775_807n;

const COLUMNS = `position, stream_id, type, data, metadata, recorded_at,
  data->>'businessUnitId' AS business_unit_id, data->>'contactId' AS contact_id,
  data->>'endedBy' AS ended_by, data->>'agentId' AS agent_id`;

/** The filter's fields SQLite can test (the times stay with matches(), which every record still passes). */
function whereOf(filter: AuditFilter): { sql: string; params: string[] } {
  const clauses: string[] = [];
  const params: string[] = [];
  const where = (clause: string, ...values: string[]): void => {
    clauses.push(clause);
    params.push(...values);
  };
  if (filter.contactEventsOnly) where(`type IN ('ContactStarted', 'ContactEnded', 'EndContactRejected')`);
  if (filter.type !== undefined) where('type = ?', filter.type);
  if (filter.businessUnitId !== undefined) where(`data->>'businessUnitId' = ?`, filter.businessUnitId);
  if (filter.contactId !== undefined) where(`data->>'contactId' = ?`, filter.contactId);
  if (filter.agentId !== undefined)
    where(`(data->>'endedBy' = ? OR data->>'agentId' = ?)`, filter.agentId, filter.agentId);
  return { sql: clauses.map((c) => ` AND ${c}`).join(''), params };
}

type Row = {
  position: bigint;
  stream_id: string;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
  business_unit_id: unknown;
  contact_id: unknown;
  ended_by: unknown;
  agent_id: unknown;
};

export class SqliteLogPages implements LogPages {
  private readonly db: Database.Database;
  private readonly headStatement: Database.Statement<[], { position: bigint | null }>;
  private readonly unfiltered: Scan;

  constructor(
    file: string,
    private readonly timeoutMs: number,
  ) {
    this.db = openReadConnection(Database, file);
    this.db.defaultSafeIntegers(true);
    this.headStatement = this.db.prepare<[], { position: bigint | null }>(
      'SELECT MAX(position) AS position FROM events',
    );
    this.unfiltered = this.scanner({});
  }

  head(): Promise<bigint | undefined> {
    return withoutWaiting(this.db, () => this.headStatement.get()?.position ?? undefined, this.timeoutMs);
  }

  page(after: bigint, maxCount: number): Promise<AuditRecord[]> {
    return this.unfiltered(after, LAST_POSITION, maxCount);
  }

  /** At most `maxCount` records in (after, upTo] that pass the filter's SQL part, in position order. */
  scanner(filter: AuditFilter): Scan {
    const { sql, params } = whereOf(filter);
    const statement = this.db.prepare<unknown[], Row>(
      `SELECT ${COLUMNS} FROM events WHERE position > ? AND position <= ?${sql} ORDER BY position LIMIT ?`,
    );
    return (after, upTo, maxCount) =>
      withoutWaiting(this.db, () => statement.all(after, upTo, ...params, maxCount).map(toRecord), this.timeoutMs);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

const plain = (value: unknown): unknown => (typeof value === 'bigint' ? Number(value) : value);

function toRecord(row: Row): AuditRecord {
  const recordedAt = new Date(row.recorded_at);
  return {
    position: row.position,
    type: row.type,
    recordedAtMs: recordedAt.getTime(),
    businessUnitId: plain(row.business_unit_id),
    contactId: plain(row.contact_id),
    endedBy: plain(row.ended_by),
    agentId: plain(row.agent_id),
    line: () =>
      `{"position":"${row.position}","recordedAt":"${recordedAt.toISOString()}","streamId":${JSON.stringify(row.stream_id)},"type":${JSON.stringify(row.type)},"data":${row.data},"metadata":${row.metadata}}`,
  };
}
