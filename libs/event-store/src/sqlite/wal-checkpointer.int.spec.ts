import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { WalCheckpointer } from './wal-checkpointer.js';
import { SqliteEventStore } from './sqlite-event-store.js';

const metadata = { correlationId: 'c', causationId: 'c', source: 'system' as const, schemaVersion: 1 };

describe('WalCheckpointer', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function storeWithEvents(count: number): Promise<{ file: string; store: SqliteEventStore }> {
    const dir = mkdtempSync(join(tmpdir(), 'co-checkpointer-'));
    const file = join(dir, 'events.db');
    const store = new SqliteEventStore(file);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => store.close());
    // Many small group commits, as the service makes them: 20 appends of one event each at a time.
    for (let i = 0; i < count; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          store.append(`s-${i + k}`, [{ id: randomUUID(), type: 'E', data: { i, pad: 'x'.repeat(300) }, metadata }], {
            expectedRevision: 'no_stream',
          }),
        ),
      );
    }
    return { file, store };
  }

  it('copies the WAL into the database file, which the writer no longer does below its safety threshold', async () => {
    const { file } = await storeWithEvents(2_000);
    const checkpointer = new WalCheckpointer(file, 60_000);
    cleanups.push(() => checkpointer.close());
    const sizeBefore = statSync(file).size;
    const result = checkpointer.checkpoint();
    expect(result).toBeDefined();
    // Past SQLite's default threshold of 1,000 pages (where the writer would have checkpointed inside a commit and
    // started the WAL over), and the checkpointer copied all of it.
    expect(result!.log).toBeGreaterThan(1_500);
    expect(result!.checkpointed).toBe(result!.log);
    expect(statSync(file).size).toBeGreaterThan(sizeBefore);
  });

  it('neither waits for nor fails on a write transaction held by another connection, and the writer goes on', async () => {
    const { file, store } = await storeWithEvents(500);
    const checkpointer = new WalCheckpointer(file, 60_000);
    cleanups.push(() => checkpointer.close());
    const other = new Database(file);
    cleanups.push(() => {
      other.close();
    });
    other.exec('BEGIN IMMEDIATE');
    other
      .prepare(
        'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, 0, ?, ?, ?, ?)',
      )
      .run('held', 'held', 'E', '{}', '{}', 'now');
    const started = performance.now();
    const result = checkpointer.checkpoint();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result === undefined || result.checkpointed <= result.log).toBe(true);
    other.exec('ROLLBACK');
    await expect(
      store.append('after', [{ id: randomUUID(), type: 'E', data: {}, metadata }], { expectedRevision: 'no_stream' }),
    ).resolves.toMatchObject({ nextExpectedRevision: 0n });
  });
});
