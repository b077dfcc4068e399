/**
 * A Vitest fixture for suites that drive EsdbEventStore over the wire-level harness: one FakeEsdb for the suite,
 * stores opened on it per test and closed after each, and events to append.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { EventMetadata, EventToAppend } from '#event-store';

type EventSource = EventMetadata['source'];
import { EsdbEventStore, type EsdbEventStoreOptions } from '../esdb-event-store.js';
import { FakeEsdb } from './fake-esdb.js';

export interface StoresOverFake {
  /** The harness of the running suite (set in beforeAll). */
  readonly fake: FakeEsdb;
  /** A store on the harness, closed after the test; `query` is appended to the connection string. */
  open(options?: EsdbEventStoreOptions & { query?: string }): EsdbEventStore;
  /** Closes a store built by the test itself after the test. */
  track(store: EsdbEventStore): EsdbEventStore;
}

export function storesOverFake(): StoresOverFake {
  let fake: FakeEsdb | undefined;
  const stores: EsdbEventStore[] = [];
  beforeAll(async () => {
    fake = await FakeEsdb.start();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => fake?.stop());
  return {
    get fake(): FakeEsdb {
      if (!fake) throw new Error('storesOverFake(): the harness starts in beforeAll');
      return fake;
    },
    open({ query = '', ...options } = {}) {
      return this.track(new EsdbEventStore(this.fake.connectionString(query), options));
    },
    track(store) {
      stores.push(store);
      return store;
    },
  };
}

export const eventToAppend =
  (source: EventSource) =>
  (type: string, data: Record<string, unknown> = {}): EventToAppend => ({
    id: randomUUID(),
    type,
    data,
    metadata: {
      correlationId: randomUUID(),
      causationId: randomUUID(),
      source,
      schemaVersion: 1,
    } satisfies EventMetadata,
  });
