/**
 * The views' side of the subscription: projections apply a batch of events and move their checkpoints in ONE
 * SQLite transaction, so a crash never leaves a view ahead of or behind its checkpoint.
 *
 * Every checkpoint is read again inside the write transaction and events at or before it are skipped: two service
 * processes on one DATA_DIR share views.db, and whichever commits a batch first applies it; the other moves on
 * (and still tells its live listeners what the rows now say).
 */
import type Database from 'better-sqlite3';
import { statement } from './statements.js';
import type { ViewEvent } from './view-event.js';

export interface Projection<Change = unknown> {
  readonly name: string;
  /** Creates the projection's tables if missing. */
  migrate(db: Database.Database): void;
  /** Removes every row the projection produced (for a rebuild). */
  reset(db: Database.Database): void;
  /** Applies one event inside the batch's transaction. */
  apply(db: Database.Database, event: ViewEvent): void;
  /** What live listeners see of an event once applied (by this process or another one sharing the view). */
  current?(db: Database.Database, event: ViewEvent): Change | undefined;
}

export function migrateCheckpoints(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL)');
}

export function readCheckpoint(db: Database.Database, name: string): bigint | undefined {
  const row = statement<[string], { position: string }>(db, 'SELECT position FROM checkpoints WHERE name = ?').get(name);
  return row ? BigInt(row.position) : undefined;
}

export type AppliedBatch<Change> = { last: bigint; changes: Change[] };

export class Projector<Change = unknown> {
  private readonly apply;

  /** `changes: false` (a rebuild) skips reading back what each event changed. */
  constructor(
    private readonly db: Database.Database,
    private readonly projections: ReadonlyArray<Projection<Change>>,
    options: { changes?: boolean } = {},
  ) {
    const collect = options.changes ?? true;
    db.transaction(() => {
      migrateCheckpoints(db);
      for (const projection of projections) projection.migrate(db);
    }).immediate();
    const save = db.prepare<[string, string]>(
      'INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position',
    );
    this.apply = db.transaction((batch: ViewEvent[]): AppliedBatch<Change> => {
      const last = batch[batch.length - 1]!.position;
      const changes: Change[] = [];
      for (const projection of this.projections) {
        const checkpoint = readCheckpoint(db, projection.name) ?? -1n;
        for (const event of batch) {
          if (event.position > checkpoint) projection.apply(db, event);
          if (!collect || !projection.current) continue;
          const change = projection.current(db, event);
          if (change !== undefined) changes.push(change);
        }
        if (last > checkpoint) save.run(projection.name, last.toString());
      }
      return { last, changes };
    });
  }

  get names(): string[] {
    return this.projections.map((p) => p.name);
  }

  /** Each projection's committed checkpoint. */
  checkpoints(): Map<string, bigint | undefined> {
    return new Map(this.projections.map((p) => [p.name, readCheckpoint(this.db, p.name)]));
  }

  /** Where a subscription feeding every projection resumes: after the one furthest behind. */
  resumeAfter(): bigint | undefined {
    let after: bigint | undefined;
    for (const checkpoint of this.checkpoints().values()) {
      if (checkpoint === undefined) return undefined;
      if (after === undefined || checkpoint < after) after = checkpoint;
    }
    return after;
  }

  /** Applies the batch and moves every checkpoint, in one write transaction. */
  applyBatch(batch: ViewEvent[]): AppliedBatch<Change> {
    return this.apply.immediate(batch);
  }

  /** Drops every projection's rows and checkpoint. */
  reset(): void {
    this.db.transaction(() => {
      for (const projection of this.projections) {
        projection.reset(this.db);
        this.db.prepare('DELETE FROM checkpoints WHERE name = ?').run(projection.name);
      }
    }).immediate();
  }
}
