/**
 * A batch source for an event store outside SQLite (EventStoreDB): the batch's events are copied into a temporary
 * table, numbered 1..n in log order, and the projections read them from there like any batch.
 */
import type Database from 'better-sqlite3';
import type { RecordedEvent } from '#event-store';
import type { BatchRange, BatchSource } from './projection.js';

export class IncomingBatch implements BatchSource {
  readonly sql = `(SELECT ord, position, stream_id, type, data, metadata, recorded_at FROM temp.incoming WHERE ord > @after AND ord <= @upTo)`;
  private positions: bigint[] = [];
  private insert: Database.Statement | undefined;
  private clear: Database.Statement | undefined;

  prepare(db: Database.Database): void {
    db.exec(`CREATE TEMP TABLE IF NOT EXISTS incoming (
      ord INTEGER PRIMARY KEY, position TEXT NOT NULL, stream_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
      metadata TEXT NOT NULL, recorded_at TEXT NOT NULL)`);
    this.insert = db.prepare(
      'INSERT INTO temp.incoming (ord, position, stream_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.clear = db.prepare('DELETE FROM temp.incoming');
  }

  /** Replaces the table's content with `events`; returns the range covering them. */
  load(events: RecordedEvent[]): BatchRange {
    this.clear!.run();
    this.positions = events.map((e) => e.position);
    events.forEach((e, i) =>
      this.insert!.run(
        i + 1,
        e.position.toString(),
        e.streamId,
        e.type,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata),
        e.recordedAt.toISOString(),
      ),
    );
    return { after: 0n, upTo: BigInt(events.length) };
  }

  skipTo(range: BatchRange, checkpoint: bigint): bigint {
    let after = range.after;
    this.positions.forEach((position, i) => {
      if (position <= checkpoint && BigInt(i + 1) > after) after = BigInt(i + 1);
    });
    return after < range.upTo ? after : range.upTo;
  }

  lastPosition(range: BatchRange): bigint {
    return this.positions[Number(range.upTo) - 1]!;
  }
}
