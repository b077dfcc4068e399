/**
 * The adapter's known defects, each reproduced through the wire-level fault harness: the real client and real gRPC
 * against a server that injects the fault. Each test failed on the adapter as it was before its fix.
 */
import { EventStoreDBClient } from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  EventStoreAccessDeniedError,
  EventStoreUnavailableError,
  StreamDeletedError,
  WrongExpectedRevisionError,
} from '../port.js';
import { EsdbEventStore } from './esdb-event-store.js';
import { encodePosition } from './position.js';
import { eventToAppend, storesOverFake } from './testing/stores-over-fake.js';

const toAppend = eventToAppend('http');
const stream = (): string => `faults-${randomUUID()}`;
const within = <T>(ms: number, promise: Promise<T>): Promise<T | 'hung'> =>
  Promise.race([promise, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);

describe('EventStoreDB adapter under injected faults', () => {
  const harness = storesOverFake();
  const open = (query = '') => harness.open({ query });

  it('defect 1: a deadline on the capability query costs one attempt of one append, not the append nor later ones', async () => {
    const store = open();
    const asked = harness.fake.calls.capabilities;
    harness.fake.faults.capabilityDeadlines = 1;
    // The first attempt fails on the client's cached answer; the renewed client asks again and writes.
    const id = stream();
    await expect(store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
      nextExpectedRevision: 0n,
    });
    expect(harness.fake.log.stream(id)).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      await expect(store.append(stream(), [toAppend('B')], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
        nextExpectedRevision: 0n,
      });
    }
    // The server was asked again, once: the failed answer was not kept.
    expect(harness.fake.calls.capabilities - asked).toBe(2);
  });

  it('defect 5: data JSON cannot represent is refused at once, not left hanging with an unhandled rejection', async () => {
    const store = open();
    const id = stream();
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    for (const data of [{ big: 1n }, circular]) {
      const outcome = await within(
        3_000,
        store.append(id, [toAppend('A', data)], { expectedRevision: 'any' }).then(
          () => 'written',
          (e: unknown) => e,
        ),
      );
      expect(outcome).toBeInstanceOf(TypeError);
      expect((outcome as Error).message).toMatch(/JSON/);
    }
    await expect(
      within(
        3_000,
        store.append(id, [{ ...toAppend('B'), metadata: { ...toAppend('B').metadata, n: 2n } }], {
          expectedRevision: 'any',
        }),
      ),
    ).rejects.toBeInstanceOf(TypeError);
    expect(harness.fake.log.stream(id)).toBeUndefined();
    await expect(store.append(id, [toAppend('C')], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
      nextExpectedRevision: 0n,
    });
  });

  it('defect 6: a read cut short by close() fails instead of answering the part that arrived', async () => {
    const store = open();
    const id = stream();
    await store.append(
      id,
      Array.from({ length: 50 }, (_, i) => toAppend('E', { i })),
      { expectedRevision: 'no_stream' },
    );
    harness.fake.faults.stallNextStreamRead = 9;
    const reads = harness.fake.calls.streamReads;
    const reading = store.readStream(id).then(
      (events) => `${events.length} events`,
      (e: unknown) => e,
    );
    // The read has reached the server, which holds it: close() must end it.
    await vi.waitFor(() => expect(harness.fake.calls.streamReads).toBeGreaterThan(reads), { timeout: 5_000 });
    await store.close();
    const outcome = await within(5_000, reading);
    expect(outcome).toBeInstanceOf(EventStoreUnavailableError);
    expect((outcome as Error).message).toMatch(/closed/);
  });

  it('defect 8: with throwOnAppendFailure=false in the connection string a conflict still names the actual revision', async () => {
    const store = open('&throwOnAppendFailure=false');
    const id = stream();
    await store.append(
      id,
      Array.from({ length: 8 }, () => toAppend('E')),
      { expectedRevision: 'no_stream' },
    );
    const error = await store.append(id, [toAppend('Late')], { expectedRevision: 3n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ streamId: id, expected: 3n, actual: 7n });
    expect(harness.fake.log.stream(id)).toHaveLength(8);
    // A client built elsewhere with the option: the actual revision is asked of the stream.
    const built = harness.track(
      new EsdbEventStore(() =>
        EventStoreDBClient.connectionString(harness.fake.connectionString('&throwOnAppendFailure=false')),
      ),
    );
    await expect(built.append(id, [toAppend('Late')], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
      actual: 7n,
    });
  });

  it('defect 7: events of $ streams never reach readAll, headPosition or subscriptions, whatever their type', async () => {
    const store = open();
    const start = encodePosition(harness.fake.log.seed(stream(), 'Start'));
    const ours = harness.fake.log.seed(stream(), 'Ours');
    harness.fake.log.seed('$projections-contacts', 'ProjectionUpdated');
    harness.fake.log.seed('$category-contact', 'ContactStarted');
    expect((await store.readAll({ after: start, maxCount: 10 })).map((e) => e.type)).toEqual(['Ours']);
    expect(await store.headPosition()).toBe(encodePosition(ours));
    const controller = new AbortController();
    const seen: string[] = [];
    const last = stream();
    const reading = (async () => {
      for await (const e of store.subscribeToAll({ after: start, signal: controller.signal })) {
        seen.push(e.streamId);
        if (e.streamId === last) controller.abort();
      }
    })();
    harness.fake.log.seed('$projections-contacts', 'ProjectionUpdated');
    harness.fake.log.seed(last, 'Last');
    await within(5_000, reading);
    expect(seen).toEqual([ours.streamId, last]);
  });

  it("defect 9: a deleted (tombstoned) stream reads as no events and refuses appends with the port's StreamDeletedError", async () => {
    const store = open();
    const id = stream();
    await store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' });
    harness.fake.log.tombstone(id);
    expect(await store.readStream(id)).toEqual([]);
    for (const expectedRevision of ['no_stream', 'any', 0n] as const) {
      const error = await store.append(id, [toAppend('B')], { expectedRevision }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamDeletedError);
      // A conflict to every caller that handles one: the stream can never be written again.
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ streamId: id, expected: expectedRevision });
    }
  });

  it("defect 10: every append takes its position from the server's answer (the last event's), idempotent repeats too", async () => {
    const store = open();
    const id = stream();
    const once = toAppend('A');
    const reads = harness.fake.calls.streamReads;
    const single = await store.append(id, [once], { expectedRevision: 'no_stream' });
    expect(single).toEqual({ nextExpectedRevision: 0n, position: encodePosition(harness.fake.log.stream(id)![0]!) });
    const pair = [toAppend('B'), toAppend('C')];
    const several = await store.append(id, pair, { expectedRevision: 0n });
    expect(several).toEqual({ nextExpectedRevision: 2n, position: encodePosition(harness.fake.log.stream(id)![2]!) });
    // Each event has its own position: the write's answer is not its first event's.
    expect(encodePosition(harness.fake.log.stream(id)![1]!)).toBeLessThan(several.position);
    expect(await store.append(id, [once], { expectedRevision: 'no_stream' })).toEqual(single);
    expect(await store.append(id, pair, { expectedRevision: 0n })).toEqual(several);
    expect(harness.fake.calls.streamReads - reads).toBe(0);
  });

  describe('defect 4: an append whose batch-append stream breaks', () => {
    it('that was written answers success, with its revision and position', async () => {
      const store = open();
      for (const expectedRevision of ['no_stream', 'any'] as const) {
        const id = stream();
        harness.fake.faults.breakNextBatch = 'after-write';
        const result = await store.append(id, [toAppend('A')], { expectedRevision });
        expect(result).toEqual({
          nextExpectedRevision: 0n,
          position: encodePosition(harness.fake.log.stream(id)![0]!),
        });
      }
    });

    it('that was not written is sent again with the same event IDs and written once', async () => {
      const store = open();
      const id = stream();
      await store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' });
      const retried = toAppend('B');
      harness.fake.faults.breakNextBatch = 'before-write';
      const appends = harness.fake.calls.appends;
      await expect(store.append(id, [retried], { expectedRevision: 0n })).resolves.toMatchObject({
        nextExpectedRevision: 1n,
      });
      expect(harness.fake.calls.appends - appends).toBe(2);
      await expect(store.append(id, [retried], { expectedRevision: 0n })).resolves.toMatchObject({
        nextExpectedRevision: 1n,
      });
      expect(harness.fake.log.stream(id)!.map((e) => [e.type, e.id])).toEqual([
        ['A', expect.any(String)],
        ['B', retried.id],
      ]);
    });

    it('whose place was taken by another writer is a conflict: it can never be written there', async () => {
      const store = open();
      const id = stream();
      await store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' });
      harness.fake.faults.breakNextBatch = 'before-write';
      const losing = store.append(id, [toAppend('Mine')], { expectedRevision: 0n }).catch((e: unknown) => e);
      harness.fake.log.seed(id, 'Theirs');
      const error = await losing;
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ actual: 1n });
    });
  });

  it('defect 11: a user a secure cluster refuses gets EventStoreAccessDeniedError, which names what the user needs', async () => {
    const store = open();
    const id = stream();
    await store.append(id, [toAppend('A')], { expectedRevision: 'no_stream' });
    harness.fake.faults.accessDenied.add('read-all');
    try {
      const refusals = await Promise.all([
        store.ping().catch((e: unknown) => e),
        store.readAll({ maxCount: 1 }).catch((e: unknown) => e),
        store.headPosition().catch((e: unknown) => e),
        store
          .subscribeToAll({ signal: AbortSignal.timeout(5_000) })
          [Symbol.asyncIterator]()
          .next()
          .catch((e: unknown) => e),
      ]);
      for (const refusal of refusals) {
        expect(refusal).toBeInstanceOf(EventStoreAccessDeniedError);
        expect(refusal).toBeInstanceOf(EventStoreUnavailableError);
        expect((refusal as Error).message).toMatch(/\$all/);
      }
    } finally {
      harness.fake.faults.accessDenied.delete('read-all');
    }
    harness.fake.faults.accessDenied.add('append');
    try {
      await expect(store.append(id, [toAppend('B')], { expectedRevision: 0n })).rejects.toBeInstanceOf(
        EventStoreAccessDeniedError,
      );
    } finally {
      harness.fake.faults.accessDenied.delete('append');
    }
    expect(harness.fake.log.stream(id)).toHaveLength(1);
  });
});
