/**
 * EndContact when the store cannot say whether the end was written: the handler re-reads
 * the contact's stream and decides again instead of answering Default. Over the EventStoreDB adapter and the
 * wire-level fault harness.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppendOutcomeUnknownError, EventStoreUnavailableError, type EventStore } from '#event-store';
import { EsdbEventStore } from '#event-store/esdb';
import { FakeEsdb } from '#event-store/testing';
import { loadConfiguration } from '../config/configuration.js';
import { Metrics } from '../observability/metrics.js';
import { EndContactCommand } from './end-contact.command.js';
import { ActiveContacts } from './active-contacts.js';
import { EndContactHandler } from './end-contact.handler.js';
import { RefusalRecorder } from './refusal-recorder.js';
import { quiet, agentDirectory, endRequest } from './testing/fixtures.js';

const agent = agentDirectory;

/** A contact started in `store` (a fresh ID), and an EndContact request for it as an agent's HTTP call makes it. */
async function startedContact(store: EventStore, offset: number): Promise<EndContactCommand['request']> {
  const contactId = String(Date.now() + offset);
  const metadata = { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1 };
  const started = { contactId, businessUnitId: 'bu-1', mediaType: 'Chat', startedAt: new Date().toISOString() };
  await store.append(`contact-${contactId}`, [{ id: randomUUID(), type: 'ContactStarted', data: started, metadata }], {
    expectedRevision: 'no_stream',
  });
  return endRequest(contactId);
}

describe('EndContact when the append outcome is unknown', () => {
  let fake: FakeEsdb;
  let store: EsdbEventStore;
  let refusals: RefusalRecorder;
  let handler: EndContactHandler;

  beforeAll(async () => {
    fake = await FakeEsdb.start();
    store = new EsdbEventStore(fake.connectionString());
    refusals = new RefusalRecorder(store, loadConfiguration({}), quiet);
    handler = new EndContactHandler(store, agent, refusals, quiet, new Metrics(), new ActiveContacts());
  });
  afterAll(async () => {
    await refusals.close();
    await store.close();
    await fake.stop();
  });

  it('re-reads and ends the contact once instead of answering Default', async () => {
    const request = await startedContact(store, 0);
    const { contactId } = request;
    fake.faults.breakNextBatch = 'before-write';
    const result = await handler.execute(new EndContactCommand(request));
    expect(result).toMatchObject({ branch: 'OnSuccess', contactId, replayed: false });
    expect((await store.readStream(`contact-${contactId}`)).map((e) => e.type)).toEqual([
      'ContactStarted',
      'ContactEnded',
    ]);
  });

  it('an end recorded whose outcome the store could not confirm, then the store gone: Default saying the outcome is unknown, never "nothing written"; the retry replays the end', async () => {
    const request = await startedContact(store, 1);
    const { contactId } = request;
    // The real store, with the connection lost right after the commit: the append lands, its answer does not, and
    // every read after it fails until the store is back.
    let down = false;
    const flaky: EventStore = Object.create(store) as EventStore;
    flaky.append = async (streamId, events, options) => {
      await store.append(streamId, events, options);
      down = true;
      throw new AppendOutcomeUnknownError(streamId, 'connection lost while the commit was in flight');
    };
    flaky.readStream = async (streamId) => {
      if (down) throw new EventStoreUnavailableError('connection refused');
      return store.readStream(streamId);
    };
    const flakyHandler = new EndContactHandler(flaky, agent, refusals, quiet, new Metrics(), new ActiveContacts());
    const first = await flakyHandler.execute(new EndContactCommand(request));
    expect(first).toMatchObject({ branch: 'Default', contactId });
    expect((first as { detail: string }).detail).toMatch(/outcome of this end is unknown/);
    expect((await store.readStream(`contact-${contactId}`)).map((e) => e.type)).toContain('ContactEnded');
    // The store is back: the same command (same Idempotency-Key) answers what was recorded.
    down = false;
    const again = await handler.execute(new EndContactCommand(request));
    expect(again).toMatchObject({ branch: 'OnSuccess', contactId, replayed: true });
  });

  it('keeps the caller’s W3C trace context in the event’s metadata, tracing off (docs/operations.md)', async () => {
    const request = await startedContact(store, 2);
    const { contactId } = request;
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'v=1' };
    const result = await handler.execute(
      new EndContactCommand({ ...request, source: 'kafka', clientAddress: 'kafka:commands', trace }),
    );
    expect(result).toMatchObject({ branch: 'OnSuccess' });
    const ended = (await store.readStream(`contact-${contactId}`)).find((e) => e.type === 'ContactEnded')!;
    expect(ended.metadata).toMatchObject(trace);
  });
});
