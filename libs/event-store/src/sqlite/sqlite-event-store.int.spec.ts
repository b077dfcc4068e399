import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { describeEventStoreContract } from '../event-store.contract.js';
import { EventStoreUnavailableError } from '../port.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import { settlesWithin } from '#runtime';

describeEventStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'co-sqlite-contract-'));
  const store = new SqliteEventStore(join(dir, 'events.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite subscription catch-up', () => {
  it('yields to the event loop between pages, so a long replay never starves requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'co-sqlite-yield-'));
    const store = new SqliteEventStore(join(dir, 'events.db'));
    try {
      const metadata = { correlationId: 'c', causationId: 'c', source: 'system' as const, schemaVersion: 1 };
      await store.append(
        'replay',
        Array.from({ length: 3000 }, (_, i) => ({ id: randomUUID(), type: 'E', data: { i }, metadata })),
        { expectedRevision: 'no_stream' },
      );
      let ticks = 0;
      let counting = true;
      const tick = (): void => {
        ticks++;
        if (counting) setImmediate(tick);
      };
      setImmediate(tick);
      const controller = new AbortController();
      let seen = 0;
      let ticksWhileReplaying = 0;
      for await (const _event of store.subscribeToAll({ signal: controller.signal })) {
        if (++seen === 3000) {
          ticksWhileReplaying = ticks;
          controller.abort();
        }
      }
      counting = false;
      // 3000 events are 6 pages: the loop must have turned between them.
      expect(ticksWhileReplaying).toBeGreaterThanOrEqual(5);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite newestPositionOf', () => {
  it('is the position of the newest event of the given streams, another process’s appends included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'co-sqlite-newest-'));
    const file = join(dir, 'events.db');
    const store = new SqliteEventStore(file);
    const other = new SqliteEventStore(file);
    try {
      const metadata = { correlationId: 'c', causationId: 'c', source: 'system' as const, schemaVersion: 1 };
      const event = () => ({ id: randomUUID(), type: 'E', data: {}, metadata });
      expect(await store.newestPositionOf(['a', 'b'])).toBeUndefined();
      const a = await store.append('a', [event(), event()], { expectedRevision: 'no_stream' });
      await store.append('unrelated', [event()], { expectedRevision: 'no_stream' });
      expect(await store.newestPositionOf(['a', 'b'])).toBe(a.position);
      expect(await store.newestPositionOf(['b'])).toBeUndefined();
      const b = await other.append('b', [event()], { expectedRevision: 'no_stream' });
      expect(await store.newestPositionOf(['a', 'b'])).toBe(b.position);
      expect(await store.newestPositionOf(['a'])).toBe(a.position);
      expect(await store.newestPositionOf([])).toBeUndefined();
    } finally {
      await other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The writer thread, reached as a crash would reach it: from outside the store's API. */
const writerOf = (store: SqliteEventStore): Worker => (store as unknown as { worker: Worker }).worker;

describe('SQLite writer thread stopped without being asked to', () => {
  const metadata = { correlationId: 'c', causationId: 'c', source: 'system' as const, schemaVersion: 1 };
  const event = () => ({ id: randomUUID(), type: 'E', data: {}, metadata });

  it('fails every append and ping() naming it, and says so through failure and failed()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'co-sqlite-writer-stopped-'));
    const store = new SqliteEventStore(join(dir, 'events.db'));
    try {
      await store.append('before', [event()], { expectedRevision: 'no_stream' });
      await store.ping();
      expect(store.failure).toBeUndefined();
      await writerOf(store).terminate();
      const append = store.append('after', [event()], { expectedRevision: 'no_stream' });
      await expect(append).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(append).rejects.toThrow(/SQLite writer stopped/);
      await expect(store.ping()).rejects.toThrow(/SQLite writer stopped/);
      expect(store.failure?.message).toMatch(/SQLite writer stopped/);
      expect((await store.failed()).message).toMatch(/SQLite writer stopped/);
      // What was committed can still be read.
      expect(await store.readStream('before')).toHaveLength(1);
    } finally {
      await settlesWithin(store.close(), 5_000);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('still closes at once: close() does not wait for an exit that has already happened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'co-sqlite-writer-stopped-'));
    const store = new SqliteEventStore(join(dir, 'events.db'));
    try {
      await store.append('before', [event()], { expectedRevision: 'no_stream' });
      await writerOf(store).terminate();
      expect(await settlesWithin(store.close(), 5_000)).toBe(true);
      await expect(store.close()).resolves.toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closing is not a failure: failure stays undefined and failed() never settles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'co-sqlite-writer-closed-'));
    const store = new SqliteEventStore(join(dir, 'events.db'));
    try {
      await store.append('before', [event()], { expectedRevision: 'no_stream' });
      const failed = store.failed();
      await store.close();
      expect(store.failure).toBeUndefined();
      expect(await settlesWithin(failed, 100)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite append deadline', () => {
  it('an append that reaches the writer after its STORE_TIMEOUT_MS is refused as unavailable and never written, even with the lock free', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'co-sqlite-deadline-'));
    const file = join(dir, 'events.db');
    const store = new SqliteEventStore(file, { storeTimeoutMs: 100 });
    try {
      await store.opened();
      const metadata = { correlationId: 'c', causationId: 'c', source: 'system' as const, schemaVersion: 1 };
      const late = store.append('late', [{ id: randomUUID(), type: 'E', data: {}, metadata }], {
        expectedRevision: 'no_stream',
      });
      // The fault: this thread stalls past the deadline before the append is even handed to the writer.
      const stalledUntil = Date.now() + 150;
      while (Date.now() < stalledUntil);
      await expect(late).rejects.toBeInstanceOf(EventStoreUnavailableError);
      // Later appends go through, and the late one never appears, not even after them.
      await store.append('on-time', [{ id: randomUUID(), type: 'E', data: {}, metadata }], {
        expectedRevision: 'no_stream',
      });
      expect(await store.readStream('late')).toEqual([]);
      expect((await store.readStream('on-time')).length).toBe(1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
