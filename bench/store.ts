/**
 * Row 3: the SQLite event store's group-commit appends (many concurrent single-event appends, as the service
 * issues them) against the floor SQLite sets: the same rows inserted raw with better-sqlite3 into the same
 * schema, same durability (WAL, synchronous=FULL), same batch size, one transaction per batch.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SqliteEventStore, type EventStore } from '#event-store';
import type { BenchOptions } from './options.js';
import { realisticLog, type LogEvent } from './event-log.js';
import { formatInt, inParallel, progress, tempDir } from './support.js';
import { ratioRow, type Row } from './table.js';

export const STORE_FIGURES = [{ figure: 'group-commit appends', target: '≥ 0.80×' }] as const;
const MIN_RATIO = 0.8;

/** New contacts only, so every append is `no_stream` on a stream of its own, like POST /v1/contacts. */
export function contactStarts(count: number): LogEvent[] {
  const events: LogEvent[] = [];
  for (const event of realisticLog(Number.MAX_SAFE_INTEGER, 3)) {
    if (event.type !== 'ContactStarted') continue;
    events.push(event);
    if (events.length >= count) break;
  }
  return events;
}

/**
 * Seconds for `store` to append every event as its own single-event append, `callers` at a time, after one untimed
 * append (a store may open lazily: a writer thread, a connection, and that is not appending). Any adapter of the port.
 */
export async function timedAppends(store: EventStore, events: readonly LogEvent[], callers: number): Promise<number> {
  await store.append(
    'bench-warm-up',
    [
      {
        id: randomUUID(),
        type: 'BenchWarmUp',
        data: {},
        metadata: { correlationId: 'bench', causationId: 'bench', source: 'system', schemaVersion: 1 },
      },
    ],
    { expectedRevision: 'any' },
  );
  const started = performance.now();
  await inParallel(events, callers, async (event) => {
    await store.append(
      event.streamId,
      [{ id: event.id, type: event.type, data: event.data, metadata: event.metadata }],
      { expectedRevision: 'no_stream' },
    );
  });
  return (performance.now() - started) / 1000;
}

async function groupCommit(file: string, events: readonly LogEvent[], callers: number): Promise<number> {
  const store = new SqliteEventStore(file);
  try {
    return await timedAppends(store, events, callers);
  } finally {
    await store.close();
  }
}

async function rawInsert(file: string, events: readonly LogEvent[], batch: number): Promise<number> {
  // The store creates its own schema: the raw insert then writes into exactly that table.
  await new SqliteEventStore(file).close();
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const insert = db.prepare(
      'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const begin = db.prepare('BEGIN IMMEDIATE');
    const commit = db.prepare('COMMIT');
    const started = performance.now();
    for (let from = 0; from < events.length; from += batch) {
      const recordedAt = new Date().toISOString();
      begin.run();
      // Serialising is part of the floor: any writer turns the event objects into JSON text.
      for (const e of events.slice(from, from + batch))
        insert.run(e.id, e.streamId, 0, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), recordedAt);
      commit.run();
    }
    return (performance.now() - started) / 1000;
  } finally {
    db.close();
  }
}

export async function measureStore(options: BenchOptions['store']): Promise<Row[]> {
  const { dir, remove } = tempDir('co-bench-store-');
  try {
    const events = contactStarts(options.appends);
    progress(`store: raw batched insert of ${formatInt(events.length)} rows, ${options.batch} per transaction`);
    const rawSeconds = await rawInsert(join(dir, 'raw.db'), events, options.batch);
    progress(
      `store: ${formatInt(events.length)} appends through SqliteEventStore, ${options.callers} concurrent callers`,
    );
    const storeSeconds = await groupCommit(join(dir, 'events.db'), events, options.callers);
    const appendsPerSecond = events.length / storeSeconds;
    const rawPerSecond = events.length / rawSeconds;
    return [
      ratioRow(
        STORE_FIGURES[0].figure,
        `${formatInt(appendsPerSecond)} appends/s (${formatInt(events.length)} single-event appends, ${options.callers} callers)`,
        appendsPerSecond,
        `raw better-sqlite3 insert, same rows, ${options.batch}/transaction, WAL + synchronous=FULL: ${formatInt(rawPerSecond)} rows/s`,
        rawPerSecond,
        MIN_RATIO,
      ),
    ];
  } finally {
    await remove();
  }
}
