/**
 * Each refusal is recorded once, relying only on what every store promises: a retry of a
 * 'no_stream' append with the same event writes nothing. Over SQLite, and over the EventStoreDB adapter against
 * the wire-level harness, whose server forgets recent event IDs on a restart as EventStoreDB does.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EndContactRejected } from '#contacts';
import { EsdbEventStore } from '#event-store/esdb';
import { FakeEsdb } from '#event-store/testing';
import { SqliteEventStore, type EventMetadata, type EventStore, type RecordedEvent } from '#event-store';
import { loadConfiguration } from '../config/configuration.js';
import { budgetAddress } from '../http/client-address.js';
import { RefusalRecorder } from './refusal-recorder.js';
import { quiet } from './testing/fixtures.js';

const refusal = (
  contactId: string,
  reason: EndContactRejected['data']['reason'],
  agentId = 'agent-1',
): EndContactRejected => ({
  type: 'EndContactRejected',
  data: {
    contactId,
    reason,
    detail: 'not active',
    agentId,
    businessUnitId: 'bu-1',
    rejectedAt: new Date().toISOString(),
  },
});
const metadataFor = (commandId: string): EventMetadata => ({
  commandId,
  correlationId: commandId,
  causationId: commandId,
  source: 'kafka',
  schemaVersion: 1,
});

async function refusalsOf(store: EventStore, contactId: string): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (
    let page = await store.readAll({ maxCount: 500 });
    page.length > 0;
    page = await store.readAll({ after: page.at(-1)!.position, maxCount: 500 })
  ) {
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
      return {
        store,
        restart: () => undefined,
        close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })),
      };
    },
  ],
  [
    'EventStoreDB (gRPC harness)',
    async () => {
      const fake = await FakeEsdb.start();
      const store = new EsdbEventStore(fake.connectionString());
      return {
        store,
        restart: () => fake.log.forgetRecentIds(),
        close: async () => (await store.close(), await fake.stop()),
      };
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
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => again.record(refusal(contactId, 'InvalidContactID'), metadataFor(commandId), '10.0.0.1')),
    );
    await again.close();
    const recorded = await refusalsOf(setup.store, contactId);
    expect(recorded).toHaveLength(1);
    expect([redelivered, ...concurrent]).toEqual([at, at, at, at]);
    expect(recorded[0]!.position).toBe(at);
    // The day's refusals share the day's audit stream name as a prefix.
    expect(recorded[0]!.streamId.startsWith(`end-contact-rejections-${new Date().toISOString().slice(0, 10)}-`)).toBe(
      true,
    );
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

describe('RefusalRecorder budgets, on SQLite', () => {
  let dir: string;
  let store: SqliteEventStore;
  const config = loadConfiguration({ ANONYMOUS_REFUSALS_PER_MINUTE: '1', AGENT_REFUSALS_PER_MINUTE: '5' });
  const open = (limits = {}) => new RefusalRecorder(store, config, quiet, limits);
  const all = async (): Promise<RecordedEvent[]> => {
    const events: RecordedEvent[] = [];
    for (
      let page = await store.readAll({ maxCount: 500 });
      page.length > 0;
      page = await store.readAll({ after: page.at(-1)!.position, maxCount: 500 })
    )
      events.push(...page);
    return events;
  };
  const summaries = async (match: Record<string, unknown>) =>
    (await all()).filter(
      (e) => e.type === 'EndContactRejectionsSuppressed' && Object.entries(match).every(([k, v]) => e.data[k] === v),
    );
  const total = (events: RecordedEvent[]): number => events.reduce((sum, e) => sum + Number(e.data['count']), 0);
  const anonymous = (contactId: string): EndContactRejected => ({
    type: 'EndContactRejected',
    data: {
      contactId,
      reason: 'InvalidSecurityUser',
      detail: 'SecurityUser is missing',
      rejectedAt: new Date().toISOString(),
    },
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'co-refusal-budgets-'));
    store = new SqliteEventStore(join(dir, 'events.db'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bounds the refusals of one authenticated agent per minute and summarises the rest; another agent has its own budget', async () => {
    const contactId = `${Date.now()}3`;
    const recorder = open();
    const positions = [];
    for (let i = 0; i < 50; i++)
      positions.push(
        await recorder.record(
          refusal(contactId, 'InvalidContactID', 'noisy-agent'),
          metadataFor(randomUUID()),
          '10.0.0.9',
        ),
      );
    await recorder.record(refusal(contactId, 'Unauthorized', 'quiet-agent'), metadataFor(randomUUID()), '10.0.0.9');
    await recorder.close();
    expect(positions.filter((p) => p !== undefined)).toHaveLength(5);
    const recorded = await refusalsOf(store, contactId);
    expect(recorded.filter((e) => e.data['agentId'] === 'noisy-agent')).toHaveLength(5);
    expect(recorded.filter((e) => e.data['agentId'] === 'quiet-agent')).toHaveLength(1);
    const summarised = await summaries({ agentId: 'noisy-agent' });
    expect(total(summarised)).toBe(45);
    expect(summarised[0]!.data).toMatchObject({ businessUnitId: 'bu-1', reason: 'InvalidContactID' });
  });

  it('records a malformed contact ID of 4,000 characters truncated to 64', async () => {
    const recorder = open();
    const long = `9${'x'.repeat(3999)}`;
    await recorder.record(refusal(long, 'InvalidContactID', 'agent-long'), metadataFor(randomUUID()), '10.0.0.9');
    await recorder.close();
    const [recorded] = (await all()).filter(
      (e) => e.type === 'EndContactRejected' && e.data['agentId'] === 'agent-long',
    );
    expect(recorded!.data['contactId']).toBe(long.slice(0, 64));
    expect(String(recorded!.data['detail'])).toContain('4000 characters');
  });

  it('tracks at most maxTracked callers: rotating addresses beyond it share one overflow budget', async () => {
    const recorder = open({ maxTracked: 10 });
    let written = 0;
    for (let i = 0; i < 100; i++) {
      if (
        (await recorder.record(anonymous(`5${i}`), metadataFor(randomUUID()), `2001:db8:${i.toString(16)}::1`)) !==
        undefined
      )
        written++;
      expect(recorder.tracked).toBeLessThanOrEqual(11);
    }
    await recorder.close();
    // One each for the first ten addresses, one for the overflow budget; the other 89 are counted under "*".
    expect(written).toBe(11);
    expect(total(await summaries({ clientAddress: '*' }))).toBe(89);
  });

  it('writes suppressed counts within a flush period, without waiting for the window to end or for close()', async () => {
    const recorder = open({ flushMs: 50 });
    for (let i = 0; i < 6; i++) await recorder.record(anonymous('6001'), metadataFor(randomUUID()), '192.0.2.77');
    await vi.waitFor(async () => expect(total(await summaries({ clientAddress: '192.0.2.77' }))).toBe(5), {
      timeout: 5_000,
      interval: 20,
    });
    await recorder.close();
    expect(total(await summaries({ clientAddress: '192.0.2.77' }))).toBe(5);
  });

  it('budgets IPv6 clients per /64: rotating through one /64 buys no new budget', async () => {
    const recorder = open();
    let written = 0;
    for (let i = 1; i <= 30; i++)
      if (
        (await recorder.record(
          anonymous('6002'),
          metadataFor(randomUUID()),
          `2001:db8:aa:bb:${i.toString(16)}::${i}`,
        )) !== undefined
      )
        written++;
    await recorder.close();
    expect(written).toBe(1);
    expect(total(await summaries({ clientAddress: '2001:db8:aa:bb::/64' }))).toBe(29);
  });
});

describe('budgetAddress', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['kafka:contact.commands', 'kafka:contact.commands'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:DB8:0000:0001:ffff::1', '2001:db8:0:1::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4::/64'],
  ])('%s → %s', (address, budget) => expect(budgetAddress(address)).toBe(budget));
});
