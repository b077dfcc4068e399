/**
 * Each refusal is recorded once (issue 13, defect 3), relying only on what every store promises: a retry of a
 * 'no_stream' append with the same event writes nothing. Over SQLite, and over the EventStoreDB adapter against
 * the wire-level harness, whose server forgets recent event IDs on a restart as EventStoreDB does.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndContactRejected } from '#contacts';
import { EsdbEventStore } from '#event-store/esdb';
import { FakeEsdb } from '#event-store/testing';
import { SqliteEventStore, type EventMetadata, type EventStore, type RecordedEvent } from '#event-store';
import { loadConfiguration } from '../config/configuration.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { RefusalRecorder } from './refusal-recorder.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as AppLogger;

const refusal = (contactId: string, reason: EndContactRejected['data']['reason'], agentId = 'agent-1'): EndContactRejected => ({
  type: 'EndContactRejected',
  data: { contactId, reason, detail: 'not active', agentId, businessUnitId: 'bu-1', rejectedAt: new Date().toISOString() },
});
const metadataFor = (commandId: string): EventMetadata => ({ commandId, correlationId: commandId, causationId: commandId, source: 'kafka', schemaVersion: 1 });

async function refusalsOf(store: EventStore, contactId: string): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (let page = await store.readAll({ maxCount: 500 }); page.length > 0; page = await store.readAll({ after: page.at(-1)!.position, maxCount: 500 })) {
    all.push(...page);
  }
  return all.filter((e) => e.type === 'EndContactRejected' && e.data['contactId'] === contactId);
}

type Setup = { store: EventStore; restart: () => void; close: () => Promise<void> };
const stores: Array<[string, () => Promise<Setup>]> = [
  [
    'SQLite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'co-refusals-'));
      const store = new SqliteEventStore(join(dir, 'events.db'));
      return { store, restart: () => undefined, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  ],
  [
    'EventStoreDB (gRPC harness)',
    async () => {
      const fake = await FakeEsdb.start();
      const store = new EsdbEventStore(fake.connectionString());
      return { store, restart: () => fake.log.forgetRecentIds(), close: async () => (await store.close(), await fake.stop()) };
    },
  ],
];

describe.each(stores)('RefusalRecorder on %s', (_name, open) => {
  let setup: Setup;
  const recorder = (): RefusalRecorder => new RefusalRecorder(setup.store, loadConfiguration({}), quiet);

  beforeAll(async () => {
    setup = await open();
  });
  afterAll(async () => setup.close());

  it('records a redelivered refusal once, even after the server restarted in between, and answers where', async () => {
    const contactId = `${Date.now()}1`;
    const commandId = randomUUID();
    const first = recorder();
    const at = await first.record(refusal(contactId, 'InvalidContactID'), metadataFor(commandId), '10.0.0.1');
    await first.close();
    setup.restart();
    const again = recorder();
    const redelivered = await again.record(refusal(contactId, 'InvalidContactID'), metadataFor(commandId), '10.0.0.1');
    const concurrent = await Promise.all([1, 2, 3].map(() => again.record(refusal(contactId, 'InvalidContactID'), metadataFor(commandId), '10.0.0.1')));
    await again.close();
    const recorded = await refusalsOf(setup.store, contactId);
    expect(recorded).toHaveLength(1);
    expect([redelivered, ...concurrent]).toEqual([at, at, at, at]);
    expect(recorded[0]!.position).toBe(at);
    // The day's refusals share the day's audit stream name as a prefix.
    expect(recorded[0]!.streamId.startsWith(`end-contact-rejections-${new Date().toISOString().slice(0, 10)}-`)).toBe(true);
  });

  it('records a retry refused for another reason, by another caller, or under another command as a new refusal', async () => {
    const contactId = `${Date.now()}2`;
    const commandId = randomUUID();
    const rec = recorder();
    await rec.record(refusal(contactId, 'InvalidContactID'), metadataFor(commandId), '10.0.0.1');
    await rec.record(refusal(contactId, 'Unauthorized'), metadataFor(commandId), '10.0.0.1');
    await rec.record(refusal(contactId, 'InvalidContactID', 'agent-2'), metadataFor(commandId), '10.0.0.1');
    await rec.record(refusal(contactId, 'InvalidContactID'), metadataFor(randomUUID()), '10.0.0.1');
    await rec.close();
    expect(await refusalsOf(setup.store, contactId)).toHaveLength(4);
  });
});
