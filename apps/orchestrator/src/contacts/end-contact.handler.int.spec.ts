/**
 * EndContact when the store cannot say whether the end was written: the handler re-reads
 * the contact's stream and decides again instead of answering Default. Over the EventStoreDB adapter and the
 * wire-level fault harness.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EsdbEventStore } from '#event-store/esdb';
import { FakeEsdb } from '#event-store/testing';
import { loadConfiguration } from '../config/configuration.js';
import { Metrics } from '../observability/metrics.js';
import { EndContactCommand } from './end-contact.command.js';
import { ActiveContacts } from './active-contacts.js';
import { EndContactHandler } from './end-contact.handler.js';
import { RefusalRecorder } from './refusal-recorder.js';
import { quiet, agentDirectory } from './testing/fixtures.js';

const agent = agentDirectory;

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
    const contactId = String(Date.now());
    const metadata = { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1 };
    const started = { contactId, businessUnitId: 'bu-1', mediaType: 'Chat', startedAt: new Date().toISOString() };
    await store.append(
      `contact-${contactId}`,
      [{ id: randomUUID(), type: 'ContactStarted', data: started, metadata }],
      { expectedRevision: 'no_stream' },
    );
    fake.faults.breakNextBatch = 'before-write';
    const request = {
      contactId,
      securityUser: 'token',
      commandId: randomUUID(),
      correlationId: randomUUID(),
      source: 'http' as const,
      clientAddress: '127.0.0.1',
    };
    const result = await handler.execute(new EndContactCommand(request));
    expect(result).toMatchObject({ branch: 'OnSuccess', contactId, replayed: false });
    expect((await store.readStream(`contact-${contactId}`)).map((e) => e.type)).toEqual([
      'ContactStarted',
      'ContactEnded',
    ]);
  });

  it('keeps the caller’s W3C trace context in the event’s metadata, tracing off (docs/operations.md)', async () => {
    const contactId = String(Date.now() + 1);
    const metadata = { correlationId: 'c', causationId: 'c', source: 'kafka' as const, schemaVersion: 1 };
    const started = { contactId, businessUnitId: 'bu-1', mediaType: 'Chat', startedAt: new Date().toISOString() };
    await store.append(
      `contact-${contactId}`,
      [{ id: randomUUID(), type: 'ContactStarted', data: started, metadata }],
      { expectedRevision: 'no_stream' },
    );
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'v=1' };
    const result = await handler.execute(
      new EndContactCommand({
        contactId,
        securityUser: 'token',
        commandId: randomUUID(),
        correlationId: randomUUID(),
        source: 'kafka',
        clientAddress: 'kafka:commands',
        trace,
      }),
    );
    expect(result).toMatchObject({ branch: 'OnSuccess' });
    const ended = (await store.readStream(`contact-${contactId}`)).find((e) => e.type === 'ContactEnded')!;
    expect(ended.metadata).toMatchObject(trace);
  });
});
