/**
 * The EventStoreDB adapter over the wire-level fault harness (testing/fake-esdb.ts): the real client, real gRPC,
 * a server that applies EventStoreDB's rules. Paging, system events, appends and subscriptions; the faults are
 * in esdb-faults.unit.spec.ts.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { describeEventStoreContract } from '../event-store.contract.js';
import { EventStoreUnavailableError, WrongExpectedRevisionError } from '../port.js';
import { EsdbEventStore } from './esdb-event-store.js';
import { encodePosition } from './position.js';
import { FakeEsdb } from './testing/fake-esdb.js';
import { eventToAppend, storesOverFake } from './testing/stores-over-fake.js';

const toAppend = eventToAppend('kafka');

// The contract's cases through the adapter, the client and gRPC; EventStoreDB itself runs it in the int suite.
describeEventStoreContract('EventStoreDB adapter over the gRPC harness', async () => {
  const fake = await FakeEsdb.start();
  const store = new EsdbEventStore(fake.connectionString());
  return { store, cleanup: async () => (await store.close(), await fake.stop()) };
});

describe('EsdbEventStore over the gRPC harness', () => {
  const harness = storesOverFake();
  const open = harness.open.bind(harness);

  it('readAll starts strictly after `after`, skips system events and pages over runs of them', async () => {
    const a = `a-${randomUUID()}`;
    const start = harness.fake.log.all.at(-1);
    harness.fake.log.seed(a, 'A1');
    for (let i = 0; i < 7; i++) harness.fake.log.seed('$stats-127.0.0.1:2113', '$statsCollected');
    harness.fake.log.seed(`b-${randomUUID()}`, 'B1');
    harness.fake.log.seed(a, 'A2');
    const store = open();
    const after = start === undefined ? {} : { after: encodePosition(start) };
    const first = await store.readAll({ ...after, maxCount: 2 });
    expect(first.map((e) => e.type)).toEqual(['A1', 'B1']);
    const second = await store.readAll({ after: first[1]!.position, maxCount: 2 });
    expect(second.map((e) => e.type)).toEqual(['A2']);
    expect(await store.readAll({ after: second[0]!.position, maxCount: 2 })).toEqual([]);
  });

  it('headPosition is the last non-system event, stepping back over system events', async () => {
    const store = open({ backwardBatch: 2 });
    const last = harness.fake.log.seed(`a-${randomUUID()}`, 'A1');
    for (let i = 0; i < 5; i++) harness.fake.log.seed('$$a', '$metadata');
    expect(await store.headPosition()).toBe(encodePosition(last));
  });

  it('append maps the expected revision and reports the $all position of the last event written', async () => {
    const store = open();
    const id = `s-${randomUUID()}`;
    const result = await store.append(id, [toAppend('A'), toAppend('B')], { expectedRevision: 'no_stream' });
    const written = harness.fake.log.stream(id)!;
    expect(result).toEqual({ nextExpectedRevision: 1n, position: encodePosition(written[1]!) });
    const error = await store.append(id, [toAppend('C')], { expectedRevision: 0n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ streamId: id, expected: 0n, actual: 1n });
    // The exact current revision is accepted, and only it: an off-by-one mapping would fail one of the two.
    expect(await store.append(id, [toAppend('C')], { expectedRevision: 1n })).toMatchObject({
      nextExpectedRevision: 2n,
    });
  });

  it('readStream gives the events in order, and [] for a stream that does not exist', async () => {
    const store = open();
    const id = `s-${randomUUID()}`;
    const events = [toAppend('A', { n: 1 }), toAppend('B', { nested: { a: [1] } })];
    await store.append(id, events, { expectedRevision: 'no_stream' });
    const read = await store.readStream(id);
    expect(read.map((e) => [e.id, e.type, e.revision, e.data, e.metadata])).toEqual(
      events.map((e, i) => [e.id, e.type, BigInt(i), e.data, e.metadata]),
    );
    expect(await store.readStream(`nope-${randomUUID()}`)).toEqual([]);
  });

  it('subscribeToAll filters system events on the server, starts after `after`, and ends (unsubscribing) when the signal aborts', async () => {
    const store = open();
    const id = `x-${randomUUID()}`;
    const before = harness.fake.log.seed(id, 'Before');
    const controller = new AbortController();
    const iterator = store
      .subscribeToAll({ after: encodePosition(before), signal: controller.signal })
      [Symbol.asyncIterator]();
    const first = iterator.next();
    harness.fake.log.seed('$$x', '$metadata');
    const next = harness.fake.log.seed(id, 'Next');
    expect((await first).value).toMatchObject({ type: 'Next', position: encodePosition(next) });
    const waiting = iterator.next();
    controller.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });

  it('close ends open subscriptions and refuses further work', async () => {
    const store = new EsdbEventStore(harness.fake.connectionString());
    const subscribed = harness.fake.calls.allReads;
    const waiting = store
      .subscribeToAll({ after: encodePosition(harness.fake.log.all.at(-1)!) })
      [Symbol.asyncIterator]()
      .next();
    // The subscription has reached the server: close() must end it there.
    await vi.waitFor(() => expect(harness.fake.calls.allReads).toBeGreaterThan(subscribed), { timeout: 5_000 });
    await store.close();
    expect(await Promise.race([waiting, new Promise((r) => setTimeout(() => r('hung'), 5_000))])).toEqual({
      done: true,
      value: undefined,
    });
    await expect(store.readAll({ maxCount: 1 })).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });
});
