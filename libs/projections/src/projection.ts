/**
 * The views' side of the subscription. A projection is set-based SQL over a batch of events: a relation
 * `(ord, position, stream_id, type, data, metadata, recorded_at)` holding the batch's events with `ord` in
 * (@after, @upTo], in log order. From the embedded store that relation is the attached log itself (the events are
 * never read into JavaScript); from EventStoreDB it is a temporary table the batch is copied into.
 *
 * Projections apply a batch and move their checkpoints in ONE SQLite transaction, so a crash never leaves a view
 * ahead of or behind its checkpoint. Every checkpoint is read again inside that transaction and the events at or
 * before it are skipped: two service processes on one DATA_DIR share views.db, whichever commits a batch first
 * applies it, and the other moves on (and still tells its live listeners what the rows now say).
 */
import type Database from 'better-sqlite3';
import { READ_CACHE_KB } from '#event-store';
import { statement } from './statements.js';
import { VIEWS_SCHEMA_VERSION } from './views-files.js';

/** The named parameters of every batch statement: the batch is the events with `ord` in (after, upTo]. */
export type BatchRange = { after: bigint; upTo: bigint };

export interface Projection<Change = unknown> {
  readonly name: string;
  readonly tables: readonly string[];
  /** Created after a rebuild's bulk load rather than maintained row by row. */
  readonly indexes: readonly string[];
  /** Statements removing every row the projection produced. */
  readonly reset: readonly string[];
  /** The statements applying a batch, given the batch relation's SQL. */
  apply(batch: string): readonly string[];
  /** What live listeners see of the batch once applied (by this process or another one sharing the view). */
  current?(db: Database.Database, batch: string, range: BatchRange): Change[];
}

/** Where a batch's events are, and how its `ord` relates to log positions. */
export interface BatchSource {
  /** Makes the relation reachable from the views connection (after migration: see Projector). */
  prepare(db: Database.Database): void;
  /** A parenthesised SELECT of the batch relation, filtered by @after and @upTo. */
  readonly sql: string;
  /** The `ord` after which events are beyond `checkpoint`, within (after, upTo]. */
  skipTo(range: BatchRange, checkpoint: bigint): bigint;
  /** The log position of the batch's last event. */
  lastPosition(range: BatchRange): bigint;
}

/** The embedded log attached read-only as `log`: `ord` is the position itself. */
export const attachedLog = (file: string): BatchSource => ({
  prepare: (db) => {
    db.prepare('ATTACH DATABASE ? AS log').run(file);
    // Each batch reads only the log's newest pages: a log reader's cache, not the 16 MB default.
    db.pragma(`log.cache_size = -${READ_CACHE_KB}`);
  },
  sql: `(SELECT position AS ord, CAST(position AS TEXT) AS position, stream_id, type, data, metadata, recorded_at
         FROM log.events WHERE position > @after AND position <= @upTo)`,
  skipTo: (range, checkpoint) => (checkpoint > range.after ? checkpoint : range.after),
  lastPosition: (range) => range.upTo,
});

export function readCheckpoint(db: Database.Database, name: string, schema = 'main'): bigint | undefined {
  const row = statement<[string], { position: string }>(
    db,
    `SELECT position FROM ${schema}.checkpoints WHERE name = ?`,
  ).get(name);
  return row ? BigInt(row.position) : undefined;
}

export type AppliedBatch<Change> = { last: bigint; changes: Change[] };

export class Projector<Change = unknown> {
  /** Whether each batch reads back what it changed (only worth it while someone listens). */
  collectChanges: boolean;
  private readonly applyInTransaction;

  /** `changes: false` skips reading back what changed; `deferIndexes` leaves them to createIndexes(). */
  constructor(
    private readonly db: Database.Database,
    private readonly projections: ReadonlyArray<Projection<Change>>,
    source: BatchSource,
    options: { changes?: boolean; deferIndexes?: boolean } = {},
  ) {
    // Migrated before the log is attached: an IMMEDIATE transaction would take the attached log's write lock too.
    this.migrate(options.deferIndexes ?? false);
    source.prepare(db);
    this.collectChanges = options.changes ?? true;
    const save = db.prepare<[string, string]>(
      'INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position',
    );
    // A deferred transaction whose first statement writes: it takes the views' write lock and nothing else. (BEGIN
    // IMMEDIATE would also take the write lock of the attached event log, stalling its writer.)
    const lock = db.prepare('UPDATE checkpoints SET name = name WHERE 0');
    this.applyInTransaction = db.transaction((range: BatchRange): AppliedBatch<Change> => {
      lock.run();
      const last = source.lastPosition(range);
      for (const projection of this.projections) {
        const checkpoint = readCheckpoint(db, projection.name) ?? -1n;
        const after = source.skipTo(range, checkpoint);
        if (after < range.upTo) {
          for (const sql of projection.apply(source.sql)) statement(db, sql).run({ after, upTo: range.upTo });
        }
        if (last > checkpoint) save.run(projection.name, last.toString());
      }
      const changes = this.collectChanges
        ? this.projections.flatMap((p) => p.current?.(db, source.sql, range) ?? [])
        : [];
      return { last, changes };
    });
  }

  get names(): string[] {
    return this.projections.map((p) => p.name);
  }

  /** Where a subscription feeding every projection resumes: after the one furthest behind. */
  resumeAfter(): bigint | undefined {
    let after: bigint | undefined;
    for (const projection of this.projections) {
      const checkpoint = readCheckpoint(this.db, projection.name);
      if (checkpoint === undefined) return undefined;
      if (after === undefined || checkpoint < after) after = checkpoint;
    }
    return after;
  }

  /** Applies the batch (ord in (after, upTo]) and moves every checkpoint, in one write transaction. */
  applyBatch(range: BatchRange): AppliedBatch<Change> {
    return this.applyInTransaction(range);
  }

  createIndexes(): void {
    for (const projection of this.projections) for (const sql of projection.indexes) this.db.exec(sql);
  }

  private migrate(deferIndexes: boolean): void {
    this.db
      .transaction(() => {
        if (this.db.pragma('user_version', { simple: true }) !== VIEWS_SCHEMA_VERSION) {
          // The views are disposable: an older shape is dropped and replayed from the log.
          const tables = this.db
            .prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
            .pluck()
            .all();
          for (const table of tables) this.db.exec(`DROP TABLE IF EXISTS "${table}"`);
          this.db.pragma(`user_version = ${VIEWS_SCHEMA_VERSION}`);
        }
        this.db.exec(
          'CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL) WITHOUT ROWID',
        );
        for (const projection of this.projections) {
          for (const sql of projection.tables) this.db.exec(sql);
          if (!deferIndexes) for (const sql of projection.indexes) this.db.exec(sql);
        }
      })
      .immediate();
  }
}
