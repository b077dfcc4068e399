/**
 * The PostgreSQL store's schema, versioned: the migrations below run in order at start, each once, recorded in
 * event_store_schema_version. They run in one transaction under an advisory lock, so instances starting together
 * wait for one another and the first one migrates (docs/decisions.md, PostgreSQL event store).
 *
 * A row's position folds its transaction id and its index within the append into one bigint: (xid << 20) + index.
 * Positions so follow transaction ids, and a reader that stops below the oldest transaction still running
 * (pg_snapshot_xmin) never passes a position that a late commit could still fill (see readAll's SQL).
 */
import type pg from 'pg';
import type { RecordedEvent } from '../port.js';

/** Bits of a position given to the event's index within its append: at most 2^20 events per append. */
export const INDEX_BITS = 20;
export const MAX_EVENTS_PER_APPEND = 1 << INDEX_BITS;

/** Any fixed number, the same for every instance: the advisory lock of the migrations. */
const MIGRATION_LOCK = 0x636f5f65; // "co_e"

export const MIGRATIONS: readonly { version: number; description: string; sql: string }[] = [
  {
    version: 1,
    description: 'the events table',
    sql: `
      CREATE TABLE events (
        position    bigint      PRIMARY KEY,
        xid         xid8        NOT NULL,
        stream_id   text        NOT NULL,
        revision    bigint      NOT NULL,
        event_id    text        NOT NULL UNIQUE,
        type        text        NOT NULL,
        data        json        NOT NULL,
        metadata    json        NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (stream_id, revision)
      );`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Brings the database to SCHEMA_VERSION; refuses a database of a newer version (an older instance must not write). */
export async function migrate(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS event_store_schema_version (
         version     integer     PRIMARY KEY,
         description text        NOT NULL,
         applied_at  timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM event_store_schema_version',
    );
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION)
      throw new Error(
        `the database's event store schema is version ${current}, newer than this service's ${SCHEMA_VERSION}`,
      );
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO event_store_schema_version (version, description) VALUES ($1, $2)', [
        migration.version,
        migration.description,
      ]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export type EventRow = {
  position: string;
  event_id: string;
  stream_id: string;
  revision: string;
  type: string;
  data: Record<string, unknown>;
  metadata: RecordedEvent['metadata'];
  recorded_at: Date;
};

export const EVENT_COLUMNS = 'position, event_id, stream_id, revision, type, data, metadata, recorded_at';

export function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    revision: BigInt(row.revision),
    position: BigInt(row.position),
    recordedAt: row.recorded_at,
  };
}
