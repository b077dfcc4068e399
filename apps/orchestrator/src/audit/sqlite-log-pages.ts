/**
 * The embedded log's pages for the audit export, read without parsing: SQLite extracts the few fields a filter
 * looks at, and the line is the stored JSON put together as text. The same lines as recordOf() makes from the port
 * (the stored data and metadata are JSON.stringify's output), at a fraction of the garbage: the export of a large
 * log keeps the service's memory flat.
 */
import Database from 'better-sqlite3';
import { openReadConnection, withoutWaiting } from '#event-store';
import type { AuditRecord, LogPages } from './audit-events.js';

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
  private readonly statements;

  constructor(
    file: string,
    private readonly timeoutMs: number,
  ) {
    this.db = openReadConnection(Database, file);
    this.db.defaultSafeIntegers(true);
    this.statements = {
      page: this.db.prepare<[bigint, number], Row>(
        `SELECT position, stream_id, type, data, metadata, recorded_at,
                data->>'businessUnitId' AS business_unit_id, data->>'contactId' AS contact_id,
                data->>'endedBy' AS ended_by, data->>'agentId' AS agent_id
         FROM events WHERE position > ? ORDER BY position LIMIT ?`,
      ),
      head: this.db.prepare<[], { position: bigint | null }>('SELECT MAX(position) AS position FROM events'),
    };
  }

  head(): Promise<bigint | undefined> {
    return withoutWaiting(this.db, () => this.statements.head.get()?.position ?? undefined, this.timeoutMs);
  }

  page(after: bigint, maxCount: number): Promise<AuditRecord[]> {
    return withoutWaiting(this.db, () => this.statements.page.all(after, maxCount).map(toRecord), this.timeoutMs);
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
