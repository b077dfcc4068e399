/**
 * The EventStoreDB adapter against a real server (ESDB_CONNECTION_STRING, else testcontainers, else skipped
 * with the reason printed), plus the unreachable-server behaviour, which needs no server and always runs.
 */
import { EventStoreDBClient, binaryEvent, jsonEvent } from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printSkip, resolveEsdb } from '#harness/event-store';
import { describeEventStoreContract } from '../event-store.contract.js';
import {
  EventStoreUnavailableError,
  StreamDeletedError,
  type EventMetadata,
  type EventToAppend,
  type RecordedEvent,
} from '../port.js';
import { EsdbEventStore } from './esdb-event-store.js';

afterAll(async () => {
  const esdb = await resolveEsdb();
  if (esdb.kind === 'ready') await esdb.stop();
});

describeEventStoreContract('EventStoreDB', async () => {
  const esdb = await resolveEsdb();
  if (esdb.kind === 'skipped') return { skip: esdb.reason };
  const store = new EsdbEventStore(esdb.connectionString);
  return { store, cleanup: () => store.close() };
});

const metadata = (): EventMetadata => ({
  correlationId: randomUUID(),
  causationId: randomUUID(),
  source: 'http',
  schemaVersion: 1,
});
const event = (type: string, data: Record<string, unknown> = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: metadata(),
});
const stream = (): string => `esdb-adapter-${randomUUID().replaceAll('-', '')}`;

describe('EventStoreDB adapter specifics', () => {
  let store: EsdbEventStore;
  /** A second, raw client: another writer, and the stream-metadata API the port does not have. */
  let raw: EventStoreDBClient;
  let skipReason: string | undefined;

  beforeAll(async () => {
    const esdb = await resolveEsdb();
    if (esdb.kind === 'skipped') {
      skipReason = esdb.reason;
      printSkip('EventStoreDB adapter specifics', esdb.reason);
      return;
    }
    store = new EsdbEventStore(esdb.connectionString);
    raw = EventStoreDBClient.connectionString(esdb.connectionString);
  });
  afterAll(async () => {
    await store?.close();
    await raw?.dispose();
  });

  const test = (name: string, body: () => Promise<void>): void => {
    it(name, async (ctx) => {
      if (skipReason) ctx.skip(skipReason);
      await body();
    });
  };

  test('the position of a multi-event append is the $all position of its last event', async () => {
    const id = stream();
    const before = await store.headPosition();
    const result = await store.append(id, [event('A'), event('B'), event('C')], { expectedRevision: 'no_stream' });
    const fromAll: RecordedEvent[] = [];
    let after = before;
    for (;;) {
      const page = await store.readAll({ ...(after !== undefined ? { after } : {}), maxCount: 100 });
      if (page.length === 0) break;
      fromAll.push(...page.filter((e) => e.streamId === id));
      after = page[page.length - 1]!.position;
    }
    expect(fromAll.map((e) => e.type)).toEqual(['A', 'B', 'C']);
    expect(result.position).toBe(fromAll[2]!.position);
    expect((await store.readStream(id)).map((e) => e.position)).toEqual(fromAll.map((e) => e.position));
  });

  test('system events never reach readAll, headPosition or subscriptions', async () => {
    // Stream metadata is a `$metadata` event in `$$<stream>`: a system event written at our request.
    const id = stream();
    const start = await store.headPosition();
    const from = start !== undefined ? { after: start } : {};
    await store.append(id, [event('Before')], { expectedRevision: 'no_stream' });
    await raw.setStreamMetadata(id, { maxAge: 86_400 });
    const last = await store.append(id, [event('After')], { expectedRevision: 0n });
    expect((await store.headPosition())! >= last.position).toBe(true);

    const seen: RecordedEvent[] = [];
    let after = start;
    while (!seen.some((e) => e.streamId === id && e.type === 'After')) {
      const page = await store.readAll({ ...(after !== undefined ? { after } : {}), maxCount: 100 });
      expect(page.length).toBeGreaterThan(0);
      seen.push(...page);
      after = page[page.length - 1]!.position;
    }
    expect(seen.filter((e) => e.type.startsWith('$') || e.streamId.startsWith('$'))).toEqual([]);

    const controller = new AbortController();
    const live: RecordedEvent[] = [];
    for await (const e of store.subscribeToAll({ ...from, signal: controller.signal })) {
      live.push(e);
      if (e.streamId === id && e.type === 'After') break;
    }
    controller.abort();
    expect(live.filter((e) => e.type.startsWith('$'))).toEqual([]);
    expect(live.filter((e) => e.streamId === id).map((e) => e.type)).toEqual(['Before', 'After']);
  });

  test('metadata written by another writer as bytes, and data as JSON bytes, read back as objects', async () => {
    const id = stream();
    const meta = metadata();
    await raw.appendToStream(id, [
      binaryEvent({
        id: randomUUID(),
        type: 'Foreign',
        data: Buffer.from(JSON.stringify({ a: 1 })),
        metadata: Buffer.from(JSON.stringify(meta)),
      }),
      jsonEvent({ id: randomUUID(), type: 'Json', data: { b: 2 }, metadata: meta }),
    ]);
    const [foreign, json] = await store.readStream(id);
    expect(foreign!.data).toEqual({ a: 1 });
    expect(foreign!.metadata).toEqual(meta);
    expect(json!.data).toEqual({ b: 2 });
    expect(json!.metadata).toEqual(meta);
  });
});

describe('EventStoreDB adapter faults, against the real server', () => {
  let connectionString: string | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    const esdb = await resolveEsdb();
    if (esdb.kind === 'skipped') {
      skipReason = esdb.reason;
      printSkip('EventStoreDB adapter faults', esdb.reason);
      return;
    }
    connectionString = esdb.connectionString;
  });
  const test = (name: string, body: () => Promise<void>): void => {
    it(name, async (ctx) => {
      if (skipReason) ctx.skip(skipReason);
      await body();
    });
  };
  const withStore = async (cs: string, body: (store: EsdbEventStore) => Promise<void>): Promise<void> => {
    const store = new EsdbEventStore(cs);
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };

  test('a tombstoned stream reads as no events and refuses appends with StreamDeletedError', async () => {
    await withStore(connectionString!, async (store) => {
      const id = stream();
      await store.append(id, [event('A')], { expectedRevision: 'no_stream' });
      const raw = EventStoreDBClient.connectionString(connectionString!);
      await raw.tombstoneStream(id);
      await raw.dispose();
      expect(await store.readStream(id)).toEqual([]);
      await expect(store.append(id, [event('B')], { expectedRevision: 'any' })).rejects.toBeInstanceOf(
        StreamDeletedError,
      );
    });
  });

  test('kurrentdb:// works, and throwOnAppendFailure=false still reports the actual revision', async () => {
    await withStore(
      `${connectionString!.replace(/^esdb:/, 'kurrentdb:')}${connectionString!.includes('?') ? '&' : '?'}throwOnAppendFailure=false`,
      async (store) => {
        const id = stream();
        await store.append(
          id,
          Array.from({ length: 8 }, () => event('E')),
          { expectedRevision: 'no_stream' },
        );
        await expect(store.append(id, [event('Late')], { expectedRevision: 3n })).rejects.toMatchObject({ actual: 7n });
      },
    );
  });
});

describe('EventStoreDB adapter against an unreachable server (no server needed)', () => {
  let store: EsdbEventStore;

  beforeAll(async () => {
    // A port that was free a moment ago: connections to it are refused.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    store = new EsdbEventStore(`esdb://127.0.0.1:${port}?tls=false`, { pingTimeoutMs: 2_000 });
  });
  afterAll(async () => store.close());

  it('every operation fails with EventStoreUnavailableError', async () => {
    await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.append(stream(), [event('A')], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
      EventStoreUnavailableError,
    );
    await expect(store.readStream(stream())).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.readAll({ maxCount: 10 })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });

  it('a subscription fails with EventStoreUnavailableError instead of hanging', async () => {
    const iterator = store.subscribeToAll({ signal: AbortSignal.timeout(10_000) })[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });

  it('a closed store refuses work with EventStoreUnavailableError', async () => {
    const closed = new EsdbEventStore('esdb://127.0.0.1:2113?tls=false');
    await closed.close();
    await expect(closed.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(closed.readStream(stream())).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });
});
