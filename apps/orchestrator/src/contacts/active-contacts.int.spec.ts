/**
 * EndContact decides a contact this process started without reading its stream, and stays right when the stream
 * moved on elsewhere: the append's revision refuses the stale decision and the command reads and decides again.
 * Real SQLite stores; a second SqliteEventStore on the same file plays another process.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, type EventStore } from '#event-store';
import { loadConfiguration } from '../config/configuration.js';
import { Metrics } from '../observability/metrics.js';
import { ActiveContacts } from './active-contacts.js';
import { EndContactCommand } from './end-contact.command.js';
import { EndContactHandler } from './end-contact.handler.js';
import { RefusalRecorder } from './refusal-recorder.js';
import { StartContactCommand } from './start-contact.command.js';
import { StartContactHandler } from './start-contact.handler.js';
import { quiet, agentDirectory, endRequest } from './testing/fixtures.js';

const agent = agentDirectory;
const metadata = { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1 };

describe('EndContact from the contacts this process started', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function service() {
    const dir = mkdtempSync(join(tmpdir(), 'co-active-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const here = new SqliteEventStore(join(dir, 'events.db'));
    cleanups.push(() => here.close());
    await here.opened();
    const elsewhere = new SqliteEventStore(join(dir, 'events.db'));
    cleanups.push(() => elsewhere.close());
    const reads: string[] = [];
    const store = Object.create(here) as EventStore;
    store.readStream = (streamId) => {
      reads.push(streamId);
      return here.readStream(streamId);
    };
    const active = new ActiveContacts();
    const refusals = new RefusalRecorder(store, loadConfiguration({}), quiet);
    cleanups.push(() => refusals.close());
    const start = new StartContactHandler(store, active);
    const handler = new EndContactHandler(store, agent, refusals, quiet, new Metrics(), active);
    const startContact = async (businessUnitId = 'bu-1') => {
      const started = await start.execute(new StartContactCommand({ businessUnitId, mediaType: 'Chat', metadata }));
      if (started.result !== 'Started') throw new Error(started.detail);
      return started.contactId;
    };
    const end = (contactId: string, commandId = randomUUID()) =>
      handler.execute(new EndContactCommand(endRequest(contactId, commandId, commandId)));
    return { here, elsewhere, reads, active, startContact, end };
  }

  it('ends a contact it started without reading its stream; a retry of the command reads it and replays', async () => {
    const { here, reads, active, startContact, end } = await service();
    const contactId = await startContact();
    reads.length = 0;
    const commandId = randomUUID();
    expect(await end(contactId, commandId)).toMatchObject({ branch: 'OnSuccess', contactId, replayed: false });
    expect(reads).toEqual([]);
    expect(active.recall(contactId)).toBeUndefined();
    expect(await end(contactId, commandId)).toMatchObject({ branch: 'OnSuccess', contactId, replayed: true });
    expect(reads).toEqual([`contact-${contactId}`]);
    expect((await here.readStream(`contact-${contactId}`)).map((e) => e.type)).toEqual([
      'ContactStarted',
      'ContactEnded',
    ]);
  });

  it('refuses a contact another process ended meanwhile: the stale decision loses on the revision, the stream decides', async () => {
    const { here, elsewhere, reads, active, startContact, end } = await service();
    const contactId = await startContact();
    const [started] = await elsewhere.readStream(`contact-${contactId}`);
    await elsewhere.append(
      `contact-${contactId}`,
      [
        {
          id: randomUUID(),
          type: 'ContactEnded',
          data: {
            contactId,
            businessUnitId: 'bu-1',
            mediaType: 'Chat',
            endedBy: 'agent-2',
            disconnectReason: 'TerminateScript',
            endedAt: new Date().toISOString(),
          },
          metadata,
        },
      ],
      { expectedRevision: started!.revision },
    );
    reads.length = 0;
    expect(await end(contactId)).toMatchObject({ branch: 'OnInvalidContactID', cause: 'NotActive', contactId });
    expect(reads).toEqual([`contact-${contactId}`]);
    expect(active.recall(contactId)).toBeUndefined();
    const stream = await here.readStream(`contact-${contactId}`);
    expect(stream.filter((e) => e.type === 'ContactEnded').map((e) => e.data)).toMatchObject([{ endedBy: 'agent-2' }]);
  });

  it('reads the stream of a contact it did not start, and refuses another business unit’s contact it did', async () => {
    const { elsewhere, reads, startContact, end } = await service();
    const contactId = String(Date.now());
    await elsewhere.append(
      `contact-${contactId}`,
      [
        {
          id: randomUUID(),
          type: 'ContactStarted',
          data: { contactId, businessUnitId: 'bu-1', mediaType: 'Phone', startedAt: new Date().toISOString() },
          metadata,
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    reads.length = 0;
    expect(await end(contactId)).toMatchObject({ branch: 'OnSuccess', contactId });
    expect(reads).toEqual([`contact-${contactId}`]);

    const theirs = await startContact('bu-2');
    reads.length = 0;
    expect(await end(theirs)).toMatchObject({ branch: 'OnInvalidContactID', cause: 'NotFound' });
    expect(reads).toEqual([]);
  });
});
