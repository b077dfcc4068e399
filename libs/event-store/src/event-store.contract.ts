/**
 * The one contract every EventStore adapter passes (Emmett's eventStoreContract, in our words).
 * Streams are named uniquely per test so the suite also runs against a shared, non-empty server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WrongExpectedRevisionError,
  type EventMetadata,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
} from './port.js';

export type ContractSetup = () => Promise<{ store: EventStore; cleanup: () => Promise<void> } | { skip: string }>;

const metadata = (extra: Partial<EventMetadata> = {}): EventMetadata => ({
  correlationId: randomUUID(),
  causationId: randomUUID(),
  source: 'http',
  schemaVersion: 1,
  ...extra,
});
const event = (type: string, data: Record<string, unknown> = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: metadata(),
});
const stream = (): string => `contract-${randomUUID().replaceAll('-', '')}`;

async function collect(
  iterable: AsyncIterable<RecordedEvent>,
  count: number,
  filter: (e: RecordedEvent) => boolean,
): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  for await (const e of iterable) {
    if (filter(e)) seen.push(e);
    if (seen.length >= count) break;
  }
  return seen;
}

export function describeEventStoreContract(adapter: string, setup: ContractSetup): void {
  let store: EventStore;
  let cleanup: (() => Promise<void>) | undefined;
  let skipReason: string | undefined;

  describe(`EventStore contract: ${adapter}`, () => {
    beforeAll(async () => {
      const ready = await setup();
      if ('skip' in ready) {
        skipReason = ready.skip;
        console.warn(`SKIPPED EventStore contract (${adapter}): ${ready.skip}`);
        return;
      }
      store = ready.store;
      cleanup = ready.cleanup;
    });
    afterAll(async () => cleanup?.());

    const test = (name: string, body: () => Promise<void>): void => {
      it(name, async (ctx) => {
        if (skipReason) ctx.skip(skipReason);
        await body();
      });
    };

    test('reads back an appended stream in order with data, metadata, revisions and positions', async () => {
      const id = stream();
      const first = event('ContactStarted', { contactId: '1', nested: { a: [1, 2] } });
      const second = event('ContactEnded', { contactId: '1' });
      const result = await store.append(id, [first, second], { expectedRevision: 'no_stream' });
      expect(result.nextExpectedRevision).toBe(1n);
      const events = await store.readStream(id);
      expect(events.map((e) => [e.id, e.type, e.revision])).toEqual([
        [first.id, 'ContactStarted', 0n],
        [second.id, 'ContactEnded', 1n],
      ]);
      expect(events[0]!.data).toEqual(first.data);
      expect(events[0]!.metadata).toEqual(first.metadata);
      expect(events[0]!.streamId).toBe(id);
      expect(events[1]!.position).toBeGreaterThan(events[0]!.position);
      expect(result.position).toBe(events[1]!.position);
      expect(events[0]!.recordedAt).toBeInstanceOf(Date);
    });

    test("a single-event append answers that event's global position", async () => {
      const id = stream();
      const first = await store.append(id, [event('A')], { expectedRevision: 'no_stream' });
      const second = await store.append(id, [event('B')], { expectedRevision: 0n });
      expect((await store.readStream(id)).map((e) => e.position)).toEqual([first.position, second.position]);
    });

    test('reading a stream that does not exist gives no events', async () => {
      expect(await store.readStream(stream())).toEqual([]);
    });

    test('no_stream fails when the stream exists', async () => {
      const id = stream();
      await store.append(id, [event('A')], { expectedRevision: 'no_stream' });
      const error = await store.append(id, [event('B')], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).streamId).toBe(id);
      expect((error as WrongExpectedRevisionError).actual).toBe(0n);
      expect(await store.readStream(id)).toHaveLength(1);
    });

    test('an exact revision succeeds when it matches and fails with the actual revision when it does not', async () => {
      const id = stream();
      const { nextExpectedRevision } = await store.append(id, [event('A')], { expectedRevision: 'no_stream' });
      await store.append(id, [event('B')], { expectedRevision: nextExpectedRevision });
      const error = await store
        .append(id, [event('C')], { expectedRevision: nextExpectedRevision })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).actual).toBe(1n);
      expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A', 'B']);
    });

    test('an exact revision on a missing stream fails with actual no_stream', async () => {
      const error = await store.append(stream(), [event('A')], { expectedRevision: 0n }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).actual).toBe('no_stream');
    });

    test('stream_exists fails on a missing stream and succeeds on an existing one; any always succeeds', async () => {
      const id = stream();
      await expect(store.append(id, [event('A')], { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      await store.append(id, [event('A')], { expectedRevision: 'any' });
      await store.append(id, [event('B')], { expectedRevision: 'stream_exists' });
      await store.append(id, [event('C')], { expectedRevision: 'any' });
      expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    });

    test('of many concurrent appends with the same expected revision exactly one wins', async () => {
      const id = stream();
      const { nextExpectedRevision } = await store.append(id, [event('Started')], { expectedRevision: 'no_stream' });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () =>
          store.append(id, [event('Ended')], { expectedRevision: nextExpectedRevision }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(losers).toHaveLength(9);
      for (const loser of losers) expect(loser.reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect(await store.readStream(id)).toHaveLength(2);
    });

    // The idempotency the port promises (port.ts, EventStore.append): a retry of the same events with the same
    // exact expected revision or 'no_stream' writes nothing. Nothing is promised for 'any' or 'stream_exists'.
    test('retrying a no_stream append of the same events writes nothing and answers the first write', async () => {
      const id = stream();
      const events = [event('A'), event('B')];
      const first = await store.append(id, events, { expectedRevision: 'no_stream' });
      const again = await store.append(id, events, { expectedRevision: 'no_stream' });
      expect(again).toEqual(first);
      expect((await store.readStream(id)).map((e) => e.id)).toEqual(events.map((e) => e.id));
    });

    test('retrying an exact-revision append of the same events writes nothing, even after the stream moved on', async () => {
      const id = stream();
      await store.append(id, [event('A')], { expectedRevision: 'no_stream' });
      const retried = event('B');
      const first = await store.append(id, [retried], { expectedRevision: 0n });
      const concurrent = await Promise.all([1, 2, 3].map(() => store.append(id, [retried], { expectedRevision: 0n })));
      await store.append(id, [event('C')], { expectedRevision: 1n });
      const late = await store.append(id, [retried], { expectedRevision: 0n });
      for (const answer of [...concurrent, late]) expect(answer).toEqual(first);
      expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    });

    test('other events at the same exact revision are a conflict, not a retry', async () => {
      const id = stream();
      await store.append(id, [event('A')], { expectedRevision: 'no_stream' });
      await store.append(id, [event('B')], { expectedRevision: 0n });
      await expect(store.append(id, [event('B2')], { expectedRevision: 0n })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      await expect(store.append(id, [event('A2')], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      expect(await store.readStream(id)).toHaveLength(2);
    });

    test('data or metadata JSON cannot write is refused with a TypeError and nothing is written', async () => {
      const id = stream();
      await expect(store.append(id, [event('A', { n: 1n })], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        TypeError,
      );
      expect(await store.readStream(id)).toEqual([]);
    });

    test('readAll pages the global log in position order from an exclusive position', async () => {
      const before = (await store.headPosition()) ?? undefined;
      const a = stream();
      const b = stream();
      await store.append(a, [event('A1')], { expectedRevision: 'no_stream' });
      await store.append(b, [event('B1')], { expectedRevision: 'no_stream' });
      await store.append(a, [event('A2')], { expectedRevision: 0n });
      const all: RecordedEvent[] = [];
      let after = before;
      for (;;) {
        const page = await store.readAll({ ...(after !== undefined ? { after } : {}), maxCount: 2 });
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(2);
        all.push(...page);
        after = page[page.length - 1]!.position;
      }
      const ours = all.filter((e) => e.streamId === a || e.streamId === b);
      expect(ours.map((e) => e.type)).toEqual(['A1', 'B1', 'A2']);
      const positions = all.map((e) => e.position);
      expect([...positions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(positions);
      expect(new Set(positions).size).toBe(positions.length);
      expect(await store.headPosition()).toBe(all[all.length - 1]!.position);
    });

    test('subscribeToAll catches up from a position, then wakes up for live appends, and stops on abort', async () => {
      const id = stream();
      const start = await store.headPosition();
      await store.append(id, [event('Past')], { expectedRevision: 'no_stream' });
      const controller = new AbortController();
      const subscription = store.subscribeToAll({
        ...(start !== undefined ? { after: start } : {}),
        signal: controller.signal,
      });
      const received = collect(subscription, 3, (e) => e.streamId === id);
      await new Promise((r) => setTimeout(r, 100));
      await store.append(id, [event('Live1')], { expectedRevision: 0n });
      await store.append(id, [event('Live2')], { expectedRevision: 1n });
      const events = await received;
      expect(events.map((e) => e.type)).toEqual(['Past', 'Live1', 'Live2']);
      controller.abort();
    });

    test('a subscription ends when its signal aborts while it waits', async () => {
      const controller = new AbortController();
      const head = await store.headPosition();
      const iterator = store
        .subscribeToAll({ ...(head !== undefined ? { after: head } : {}), signal: controller.signal })
        [Symbol.asyncIterator]();
      const next = iterator.next();
      setTimeout(() => controller.abort(), 50);
      const result = await Promise.race([next, new Promise((r) => setTimeout(() => r('timeout'), 5_000))]);
      expect(result).not.toBe('timeout');
    });

    test('ping answers when the store is reachable', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
