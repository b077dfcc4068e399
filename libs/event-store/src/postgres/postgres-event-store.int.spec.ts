/**
 * The PostgreSQL adapter against a real server: POSTGRES_URL, else a private server of this process
 * (test/harness/postgres.ts), else skipped with the reason printed (an error when POSTGRES_REQUIRED=1).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { printSkip, resolvePostgres, type PostgresResolution } from '#harness/postgres';
import { describeEventStoreContract } from '../event-store.contract.js';
import {
  AppendOutcomeUnknownError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type EventToAppend,
  type RecordedEvent,
} from '../port.js';
import { PostgresEventStore } from './postgres-event-store.js';

afterAll(async () => {
  const postgres = await resolvePostgres();
  if (postgres.kind === 'ready') await postgres.stop();
});

describeEventStoreContract('PostgreSQL', async () => {
  const postgres = await resolvePostgres();
  if (postgres.kind === 'skipped') return { skip: postgres.reason };
  const store = new PostgresEventStore(await postgres.database('contract'));
  await store.opened();
  return { store, cleanup: () => store.close() };
});

const metadata = { correlationId: 'c', causationId: 'c', source: 'system' as const, schemaVersion: 1 };
const event = (type = 'E', data: Record<string, unknown> = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata,
});
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reads the subscription until `until` holds of what it saw, or fails after `timeoutMs`. */
async function follow(
  store: PostgresEventStore,
  until: (seen: RecordedEvent[]) => boolean,
  timeoutMs: number,
  after?: bigint,
): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for await (const e of store.subscribeToAll({
      ...(after !== undefined ? { after } : {}),
      signal: controller.signal,
    })) {
      seen.push(e);
      if (until(seen)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return seen;
}

describe('PostgreSQL event store', () => {
  let postgres: PostgresResolution & { kind: 'ready' };
  let skip: string | undefined;

  beforeAll(async () => {
    const resolved = await resolvePostgres();
    if (resolved.kind === 'skipped') {
      skip = resolved.reason;
      printSkip('PostgreSQL event store', resolved.reason);
    } else postgres = resolved;
  });

  const test = (name: string, body: (ctx: TestContext) => Promise<void>, timeout?: number): void => {
    it(
      name,
      async (ctx) => {
        if (skip) ctx.skip(skip);
        await body(ctx);
      },
      timeout,
    );
  };

  test('a subscriber following from 0 sees every event of 16 concurrent writers exactly once, in position order, though they commit out of position order', async () => {
    const url = await postgres.database('late_commit');
    const writers = 16;
    const appendsPerWriter = 12;
    // Each append waits a random while between taking its position (its transaction id) and its COMMIT, so later
    // positions commit before earlier ones all the time.
    const store = new PostgresEventStore(url, {
      poolSize: writers + 2,
      pollIntervalMs: 50,
      beforeCommit: () => sleep(Math.random() * 40),
    });
    const reader = new PostgresEventStore(url, { pollIntervalMs: 20 });
    try {
      await store.opened();
      const total = writers * appendsPerWriter * 2;
      const seen = follow(reader, (s) => s.length >= total, 20_000);
      const written: bigint[] = [];
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < appendsPerWriter; i++) {
            const result = await store.append(`writer-${w}-${i}`, [event(), event()], {
              expectedRevision: 'no_stream',
            });
            written.push(result.position);
          }
        }),
      );
      const events = await seen;
      const positions = events.map((e) => e.position);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(events).toHaveLength(total);
      expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      for (const position of written) expect(positions).toContain(position);
    } finally {
      await reader.close();
      await store.close();
    }
  }, 90_000);

  test('concurrent appends to one stream with the same expected revision: exactly one wins, the others conflict', async () => {
    const store = new PostgresEventStore(await postgres.database('race'), { poolSize: 12 });
    try {
      const { nextExpectedRevision } = await store.append('race', [event()], { expectedRevision: 'no_stream' });
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, () => store.append('race', [event()], { expectedRevision: nextExpectedRevision })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
        expect(r.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect((r.reason as WrongExpectedRevisionError).actual).toBe(1n);
      }
      // `any` retries a revision another writer took: all of them land, one after the other.
      await Promise.all(Array.from({ length: 8 }, () => store.append('race', [event()], { expectedRevision: 'any' })));
      expect((await store.readStream('race')).map((e) => e.revision)).toEqual(
        Array.from({ length: 10 }, (_, i) => BigInt(i)),
      );
    } finally {
      await store.close();
    }
  });

  test('an idempotent repeat answers the first write, also when it races the first write', async () => {
    const store = new PostgresEventStore(await postgres.database('repeat'), { beforeCommit: () => sleep(50) });
    try {
      const events = [event('A'), event('B')];
      const answers = await Promise.all(
        [1, 2, 3, 4].map(() => store.append('repeat', events, { expectedRevision: 'no_stream' })),
      );
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect((await store.readStream('repeat')).map((e) => e.id)).toEqual(events.map((e) => e.id));
      // The same IDs in another stream are a conflict, not a retry.
      await expect(store.append('elsewhere', events, { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
    } finally {
      await store.close();
    }
  });

  test('headPosition and readAll stop below a transaction still open, and pass it once it commits', async () => {
    const url = await postgres.database('horizon');
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let rowsIn: () => void = () => undefined;
    const inserted = new Promise<void>((r) => (rowsIn = r));
    const slow = new PostgresEventStore(url, {
      beforeCommit: (stream) => {
        if (stream !== 'slow') return Promise.resolve();
        rowsIn();
        return held;
      },
    });
    const store = new PostgresEventStore(url);
    try {
      await store.opened();
      const before = await store.append('before', [event()], { expectedRevision: 'no_stream' });
      const late = slow.append('slow', [event()], { expectedRevision: 'no_stream' });
      // The slow append has its rows (and its position) but no COMMIT yet; a later one commits around it.
      await inserted;
      const after = await store.append('after', [event()], { expectedRevision: 'no_stream' });
      expect(await store.headPosition()).toBe(before.position);
      expect((await store.readAll({ maxCount: 10 })).map((e) => e.streamId)).toEqual(['before']);
      release();
      const slowResult = await late;
      expect(slowResult.position).toBeLessThan(after.position);
      await expect.poll(() => store.headPosition()).toBe(after.position);
      expect((await store.readAll({ maxCount: 10 })).map((e) => e.streamId)).toEqual(['before', 'slow', 'after']);
    } finally {
      release();
      await slow.close();
      await store.close();
    }
  });

  test('several instances starting together migrate the schema once', async () => {
    const url = await postgres.database('migrate');
    const stores = Array.from({ length: 6 }, () => new PostgresEventStore(url));
    try {
      await Promise.all(stores.map((s) => s.opened()));
      await stores[0]!.append('s', [event()], { expectedRevision: 'no_stream' });
      expect(await stores[5]!.readStream('s')).toHaveLength(1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('a subscription wakes on NOTIFY well within its poll interval', async () => {
    const url = await postgres.database('notify');
    let listening: () => void = () => undefined;
    const heard = new Promise<void>((resolve) => (listening = resolve));
    const store = new PostgresEventStore(url, {
      pollIntervalMs: 60_000,
      onListener: (state) => state === 'listening' && listening(),
    });
    const writer = new PostgresEventStore(url);
    try {
      await store.opened();
      const seen = follow(store, (s) => s.length === 1, 10_000);
      await heard;
      const started = Date.now();
      await writer.append('woken', [event()], { expectedRevision: 'no_stream' });
      expect((await seen).map((e) => e.streamId)).toEqual(['woken']);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await writer.close();
      await store.close();
    }
  });

  test('the server unreachable: appends fail as unavailable (nothing written), and a subscription fails rather than hangs', async () => {
    const store = new PostgresEventStore('postgresql://nobody:secret@127.0.0.1:1/none', { storeTimeoutMs: 1_000 });
    try {
      const error = await store.append('s', [event()], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect(error).not.toBeInstanceOf(AppendOutcomeUnknownError);
      expect((error as Error).message).not.toContain('secret');
      await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
      const iterator = store.subscribeToAll({})[Symbol.asyncIterator]();
      await expect(iterator.next()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  test('a connection lost before COMMIT is answered: outcome unknown; the retry with the same events writes them once', async () => {
    const url = await postgres.database('unknown');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    let cut = false;
    const store = new PostgresEventStore(url, {
      beforeCommit: async () => {
        if (!cut) return;
        cut = false;
        // The appending session, idle in its transaction, is ended by the server as an operator would end it.
        await admin.query(
          `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()`,
        );
      },
    });
    try {
      await store.append('unknown', [event('A')], { expectedRevision: 'no_stream' });
      const events = [event('B'), event('C')];
      cut = true;
      const error = await store.append('unknown', events, { expectedRevision: 0n }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppendOutcomeUnknownError);
      const retried = await store.append('unknown', events, { expectedRevision: 0n });
      expect(retried.nextExpectedRevision).toBe(2n);
      expect((await store.readStream('unknown')).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    } finally {
      await store.close();
      await admin.end();
    }
  });

  test('a database of a newer schema, or whose positions are ahead of the server (a logical restore), is refused', async () => {
    const newer = await postgres.database('newer');
    await new PostgresEventStore(newer).close();
    const first = new PostgresEventStore(newer);
    await first.opened();
    await first.close();
    const admin = new pg.Client({ connectionString: newer });
    await admin.connect();
    try {
      await admin.query(
        "INSERT INTO event_store_schema_version (version, description) VALUES (999, 'from the future')",
      );
      const store = new PostgresEventStore(newer);
      await expect(store.opened()).rejects.toThrow(/version 999, newer than this service's/);
      await store.close();
      await admin.query('DELETE FROM event_store_schema_version WHERE version = 999');
      await admin.query(
        `INSERT INTO events (position, xid, stream_id, revision, event_id, type, data, metadata)
         VALUES ((1::bigint << 50), '1125899906842624'::xid8, 's', 0, 'e', 'E', '{}', '{}')`,
      );
      const restored = new PostgresEventStore(newer);
      await expect(restored.opened()).rejects.toThrow(/ahead of this server's transaction ids/);
      await restored.close();
    } finally {
      await admin.end();
    }
  });

  test('after the server restarts, the listener comes back by itself and a resubscribed subscription wakes on NOTIFY again', async (ctx) => {
    const server = postgres.server;
    if (!server) return ctx.skip('POSTGRES_URL names a server this test cannot restart');
    const url = await postgres.database('restart');
    const states: string[] = [];
    // Polling is out of the way (an hour): only a notification heard by the listener can wake the subscription.
    const store = new PostgresEventStore(url, { pollIntervalMs: 3_600_000, onListener: (state) => states.push(state) });
    const writer = new PostgresEventStore(url);
    try {
      await store.opened();
      // As libs/subscription does: a failed subscription is taken up again after the last event it gave.
      const seen: RecordedEvent[] = [];
      const failures: unknown[] = [];
      const following = (async () => {
        const signal = AbortSignal.timeout(40_000);
        while (!signal.aborted && seen.length < 2) {
          try {
            const after = seen.at(-1)?.position;
            for await (const e of store.subscribeToAll({ ...(after !== undefined ? { after } : {}), signal })) {
              seen.push(e);
              if (seen.length === 2) break;
            }
            return; // Ended without failing: done, aborted, or the store closed.
          } catch (error) {
            failures.push(error);
            await sleep(100); // the backoff before resubscribing
          }
        }
      })();
      await expect.poll(() => states).toEqual(['listening']);
      await writer.append('restart', [event('Before')], { expectedRevision: 'no_stream' });
      await expect.poll(() => seen.length).toBe(1);
      await server.stop();
      await expect.poll(() => states).toEqual(['listening', 'lost']);
      await server.start();
      await expect.poll(() => states.at(-1), { timeout: 15_000 }).toBe('listening');
      await writer.append('restart', [event('After')], { expectedRevision: 0n });
      await following;
      expect(seen.map((e) => e.type)).toEqual(['Before', 'After']);
      for (const failure of failures) expect(failure).toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      await writer.close();
      await store.close();
    }
  }, 60_000);
});
