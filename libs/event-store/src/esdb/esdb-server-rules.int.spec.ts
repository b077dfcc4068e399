/**
 * The fake EventStoreDB is as strict as the server where the adapter depends on it (docs/decisions.md, "The fake
 * EventStoreDB is as strict as the server"), and the adapter copes with each rule. Every test here fails if the
 * fake is made kind again: an ID cache per stream that never forgets, an answer at once whatever the deadline, no
 * size limit, one position per write, a follower that serves leader reads, a node ready the moment it listens.
 */
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AppendOutcomeUnknownError,
  AppendTooLargeError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from '../port.js';
import { EsdbEventStore } from './esdb-event-store.js';
import { encodePosition } from './position.js';
import { FakeEsdb } from './testing/fake-esdb.js';
import { FakeLog } from './testing/fake-log.js';
import { eventToAppend } from './testing/stores-over-fake.js';

const toAppend = eventToAppend('http');
const stream = (): string => `rules-${randomUUID()}`;

const fakes: FakeEsdb[] = [];
const stores: EsdbEventStore[] = [];
const start = async (options: Parameters<typeof FakeEsdb.start>[0] = {}): Promise<FakeEsdb> => {
  const fake = await FakeEsdb.start(options);
  fakes.push(fake);
  return fake;
};
const open = (fake: FakeEsdb): EsdbEventStore => {
  const store = new EsdbEventStore(fake.connectionString());
  stores.push(store);
  return store;
};
/** Two nodes of one cluster (one log), the first one leading; an adapter connected to the first. */
const twoNodes = async (): Promise<{ log: FakeLog; a: FakeEsdb; b: FakeEsdb; store: EsdbEventStore; id: string }> => {
  const log = new FakeLog();
  const a = await start({ log });
  const b = await start({ log });
  return { log, a, b, store: open(a), id: stream() };
};
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

describe('leader-only reads and writes: NotLeader on the wire', () => {
  it('a follower answers NotLeader naming the leader; the client reconnects there and the adapter asks again', async () => {
    const { log, a, b, store, id } = await twoNodes();
    await store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' });
    expect(a.calls.appends).toBe(1);

    a.follow(b.endpoint);
    b.lead();
    const readsOnB = b.calls.streamReads;
    expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A']);
    expect(a.calls.notLeader).toBe(1);
    expect(b.calls.streamReads - readsOnB).toBe(1);
    // The client now talks to the leader: the append goes there, and $all reads too.
    await store.append(id, [toAppend('B')], { expectedRevision: 0n });
    expect(b.calls.appends).toBe(1);
    expect(a.calls.appends).toBe(1);
    const allOnB = b.calls.allReads;
    expect(await store.headPosition()).toBe(encodePosition(log.stream(id)![1]!));
    expect(b.calls.allReads - allOnB).toBe(1);
  });

  it('an append sent to a node that stopped leading goes to the new leader, written once', async () => {
    const { log, a, b, store, id } = await twoNodes();
    await store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' });
    a.follow(b.endpoint);
    const result = await store.append(id, [toAppend('B')], { expectedRevision: 0n });
    expect(result).toEqual({ nextExpectedRevision: 1n, position: encodePosition(log.stream(id)![1]!) });
    expect(a.calls.notLeader).toBe(1);
    expect(b.calls.appends).toBe(1);
    expect(log.stream(id)!.map((e) => e.type)).toEqual(['A', 'B']);
  });

  it('without requires-leader a follower serves the read itself (what the adapter must not rely on)', async () => {
    const log = new FakeLog();
    const a = await start({ log });
    const b = await start({ log });
    const id = stream();
    log.seed(id, 'A');
    a.follow(b.endpoint);
    const raw = EventStoreDBClient.connectionString(a.connectionString());
    try {
      const events = [];
      for await (const e of raw.readStream(id)) events.push(e);
      expect(events).toHaveLength(1);
      expect(a.calls.streamReads).toBe(1);
      expect(a.calls.notLeader).toBe(0);
    } finally {
      await raw.dispose();
    }
  });
});

describe('idempotency: one bounded cache of recent IDs for every stream', () => {
  it('with any, a repeat is recognised while its ID is in the cache, and written again once other streams pushed it out', async () => {
    const fake = await start({ log: new FakeLog(8) });
    const store = open(fake);
    const id = stream();
    const event = toAppend('A');
    await store.append(id, [event], { expectedRevision: 'any' });
    await store.append(id, [event], { expectedRevision: 'any' });
    expect(fake.log.stream(id)).toHaveLength(1);
    // Writes to OTHER streams evict it: the cache is global, not per stream.
    for (let i = 0; i < 8; i++) await store.append(stream(), [toAppend('Other')], { expectedRevision: 'any' });
    await store.append(id, [event], { expectedRevision: 'any' });
    expect(fake.log.stream(id)!.map((e) => e.id)).toEqual([event.id, event.id]);
  });

  it('with an exact revision, a repeat is recognised by the IDs after it, however long ago', async () => {
    const fake = await start({ log: new FakeLog(8) });
    const store = open(fake);
    const id = stream();
    const event = toAppend('A');
    const first = await store.append(id, [event], { expectedRevision: 'no_stream' });
    for (let i = 0; i < 8; i++) await store.append(stream(), [toAppend('Other')], { expectedRevision: 'any' });
    expect(await store.append(id, [event], { expectedRevision: 'no_stream' })).toEqual(first);
    expect(fake.log.stream(id)).toHaveLength(1);
  });

  it('a repeat whose first event matches and a later one does not is a conflict, never a second write', async () => {
    const fake = await start();
    const store = open(fake);
    for (const expectedRevision of ['any', 'no_stream'] as const) {
      const id = stream();
      const first = toAppend('A');
      await store.append(id, [first, toAppend('B')], { expectedRevision });
      const error = await store
        .append(id, [first, toAppend('Other')], { expectedRevision })
        .catch((e: unknown) => e as Error);
      expect(error, expectedRevision).toBeInstanceOf(WrongExpectedRevisionError);
      expect(fake.log.stream(id)!.map((e) => e.type)).toEqual(['A', 'B']);
    }
  });
});

describe("the server's write timeout caps every write's deadline", () => {
  it('a write not committed in time is answered Timeout; repeats that arrive before it commits are dropped; then the outcome is unknown', async () => {
    const fake = await start({ writeTimeoutMs: 300 });
    const store = open(fake);
    const id = stream();
    await store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' });
    const event = toAppend('B');
    fake.faults.slowNextCommit = 'held';
    const began = Date.now();
    const error = await store.append(id, [event], { expectedRevision: 0n }).catch((e: unknown) => e as Error);
    // Long before the client's own 10 s deadline: the server's cap answered.
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(AppendOutcomeUnknownError);
    expect(fake.calls.timeouts).toBe(3);
    expect(fake.calls.dropped).toBe(2);
    expect(fake.log.stream(id)).toHaveLength(1);
    // The write lands after all; the caller's repeat with the same IDs finds it.
    fake.commitHeld();
    await expect(store.append(id, [event], { expectedRevision: 0n })).resolves.toEqual({
      nextExpectedRevision: 1n,
      position: encodePosition(fake.log.stream(id)![1]!),
    });
    expect(fake.log.stream(id)!.map((e) => e.id)).toEqual([expect.any(String), event.id]);
  });

  it('a write that commits late is found by a later attempt with the same IDs: success, written once', async () => {
    const fake = await start({ writeTimeoutMs: 400 });
    const store = open(fake);
    const id = stream();
    fake.faults.slowNextCommit = 600;
    const event = toAppend('A');
    await expect(store.append(id, [event], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
      nextExpectedRevision: 0n,
    });
    expect(fake.calls.timeouts).toBeGreaterThanOrEqual(1);
    expect(fake.log.stream(id)!.map((e) => e.id)).toEqual([event.id]);
  });

  it('with any, a write that timed out is not sent again (the cache may have forgotten it): the outcome is unknown', async () => {
    const fake = await start({ writeTimeoutMs: 200 });
    const store = open(fake);
    const id = stream();
    fake.faults.slowNextCommit = 'held';
    const error = await store.append(id, [toAppend('A')], { expectedRevision: 'any' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppendOutcomeUnknownError);
    expect(fake.calls.appends).toBe(1);
    fake.commitHeld();
    expect(fake.log.stream(id)).toHaveLength(1);
  });
});

describe('the maximum append size (1 MiB by default)', () => {
  it("an append over it is the port's AppendTooLargeError, sent once, nothing written; one under it is written", async () => {
    const fake = await start();
    const store = open(fake);
    const id = stream();
    const error = await store
      .append(id, [toAppend('Big', { text: 'x'.repeat(1_100_000) })], { expectedRevision: 'no_stream' })
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(AppendTooLargeError);
    expect(error).not.toBeInstanceOf(EventStoreUnavailableError);
    expect(error).toMatchObject({ streamId: id, maxBytes: 1_048_576 });
    expect(fake.calls.appends).toBe(1);
    expect(fake.log.stream(id)).toBeUndefined();
    await expect(
      store.append(id, [toAppend('Fits', { text: 'x'.repeat(900_000) })], { expectedRevision: 'no_stream' }),
    ).resolves.toMatchObject({ nextExpectedRevision: 0n });
  });
});

describe('a node that is not ready', () => {
  it('refuses every call with UNAVAILABLE: the store is unavailable (nothing written, not "outcome unknown"), then serves', async () => {
    const fake = await start();
    const store = open(fake);
    const id = stream();
    fake.faults.notReady = true;
    const append = await store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
    expect(append).toBeInstanceOf(EventStoreUnavailableError);
    expect(append).not.toBeInstanceOf(AppendOutcomeUnknownError);
    await expect(store.readStream(id)).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    expect(fake.log.stream(id)).toBeUndefined();
    fake.faults.notReady = false;
    await expect(store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
      nextExpectedRevision: 0n,
    });
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe('soft delete', () => {
  it('a soft-deleted stream reads as no events; no_stream recreates it once, its revisions going on', async () => {
    const fake = await start();
    const store = open(fake);
    const id = stream();
    await store.append(id, [toAppend('A'), toAppend('B')], { expectedRevision: 'no_stream' });
    fake.log.softDelete(id);
    expect(await store.readStream(id)).toEqual([]);
    await expect(store.append(id, [toAppend('C')], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
      nextExpectedRevision: 2n,
    });
    expect((await store.readStream(id)).map((e) => [e.type, e.revision])).toEqual([['C', 2n]]);
    await expect(store.append(id, [toAppend('D')], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
      actual: 2n,
    });
  });
});

describe('positions on the wire', () => {
  let fake: FakeEsdb;
  let raw: EventStoreDBClient;
  beforeAll(async () => {
    fake = await FakeEsdb.start();
    raw = EventStoreDBClient.connectionString(fake.connectionString());
  });
  afterAll(async () => {
    await raw.dispose();
    await fake.stop();
  });

  it("the server's answer is the last event's own position, for a write and for its idempotent repeat", async () => {
    const id = stream();
    const events = [1, 2, 3].map((n) => jsonEvent({ id: randomUUID(), type: 'E', data: { n } }));
    const written = await raw.appendToStream(id, events, { expectedRevision: 'no_stream' });
    const stored = fake.log.stream(id)!;
    expect(new Set(stored.map((e) => e.commit)).size).toBe(3);
    expect(written.position).toEqual({ commit: stored[2]!.commit, prepare: stored[2]!.prepare });
    const repeated = await raw.appendToStream(id, events, { expectedRevision: 'no_stream' });
    expect(repeated).toEqual(written);
  });
});
