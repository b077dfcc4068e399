/**
 * The projections against real SQLite (directory events in the log are passed over): the same events give the same
 * rows whether the batch is the attached log or a copied batch (EventStoreDB's path), whatever the batch boundaries;
 * and two projectors sharing one views.db (two service processes) apply each event once.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEventStore, type EventToAppend, type RecordedEvent } from '#event-store';
import type { ContactView } from './contact-view.js';
import { IncomingBatch } from './incoming-batch.js';
import { Projector, attachedLog } from './projection.js';
import { rebuildViews } from './rebuild.js';
import { openViewsDatabase } from './views-database.js';
import { VIEW_PROJECTIONS } from './views.js';

const dir = mkdtempSync(join(tmpdir(), 'co-projection-'));
const eventsFile = join(dir, 'events.db');
let log: RecordedEvent[];

const metadata = { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1, commandId: 'x' };
const event = (type: string, data: Record<string, unknown>): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata,
});

beforeAll(async () => {
  const store = new SqliteEventStore(eventsFile);
  await store.append(
    'security-profile-p',
    [event('SecurityProfileDefined', { profileId: 'p', name: 'P', permissions: ['Contacts.End'] })],
    { expectedRevision: 'no_stream' },
  );
  await store.append(
    'security-profile-p',
    [event('SecurityProfileDefined', { profileId: 'p', name: 'P2', permissions: ['Contacts.View', 'Audit.Read'] })],
    { expectedRevision: 0n },
  );
  await store.append(
    'agent-a',
    [event('AgentRegistered', { agentId: 'a', businessUnitId: 'bu', securityProfileId: 'p', active: true })],
    { expectedRevision: 'no_stream' },
  );
  await store.append(
    'agent-a',
    [event('AgentDeactivated', { agentId: 'a', businessUnitId: 'bu', securityProfileId: 'p', active: false })],
    { expectedRevision: 0n },
  );
  for (let i = 1; i <= 30; i++) {
    const contactId = String(i === 7 ? '007' : i);
    await store.append(
      `contact-${contactId}`,
      [
        event('ContactStarted', {
          contactId,
          businessUnitId: 'bu',
          mediaType: 'Chat',
          ...(i % 2 ? { skill: 's' } : {}),
          startedAt: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`,
        }),
      ],
      { expectedRevision: 'no_stream' },
    );
    if (i % 3 === 0)
      await store.append(
        `contact-${contactId}`,
        [
          event('ContactEnded', {
            contactId,
            businessUnitId: 'bu',
            mediaType: 'Chat',
            endedBy: 'a',
            disconnectReason: 'TerminateScript',
            endedAt: '2026-01-02T00:00:00Z',
          }),
        ],
        { expectedRevision: 0n },
      );
    if (i % 4 === 0)
      await store.append(
        'end-contact-rejections-x',
        [
          event('EndContactRejected', {
            contactId,
            reason: 'Unauthorized',
            detail: 'd',
            rejectedAt: '2026-01-02T00:00:00Z',
          }),
        ],
        { expectedRevision: 'any' },
      );
  }
  // What the service never writes but a log may hold (an import, an operator's repair): a second start is ignored,
  // and of two ends the last is the one shown, live and rebuilt alike.
  await store.append(
    'contact-5',
    [event('ContactStarted', { contactId: '5', businessUnitId: 'other', mediaType: 'Phone', startedAt: 'later' })],
    { expectedRevision: 0n },
  );
  await store.append(
    'contact-12',
    [
      event('ContactEnded', {
        contactId: '12',
        businessUnitId: 'bu',
        mediaType: 'Chat',
        endedBy: 'supervisor',
        disconnectReason: 'Repair',
        endedAt: '2026-01-03T00:00:00Z',
      }),
    ],
    { expectedRevision: 1n },
  );
  // Malformed IDs never enter a history.
  await store.append(
    'end-contact-rejections-x',
    [event('EndContactRejected', { contactId: 'abc', reason: 'InvalidContactID', detail: 'd', rejectedAt: 'z' })],
    { expectedRevision: 'any' },
  );
  await store.append(
    'end-contact-rejections-x',
    [event('EndContactRejected', { contactId: 12, reason: 'InvalidContactID', detail: 'd', rejectedAt: 'z' })],
    { expectedRevision: 'any' },
  );
  log = await store.readAll({ maxCount: 10_000 });
  await store.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dump(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    const all = (sql: string): unknown[] => db.prepare(sql).all();
    return {
      contacts: all('SELECT * FROM contacts ORDER BY contact_id'),
      history: all('SELECT contact_id, type, data, metadata, position, recorded_at FROM contact_history ORDER BY seq'),
      checkpoints: all('SELECT * FROM checkpoints ORDER BY name'),
    };
  } finally {
    db.close();
  }
}

function projectAttached(file: string, batch: number): ContactView[] {
  const db = openViewsDatabase(file);
  const projector = new Projector<ContactView>(db, VIEW_PROJECTIONS, attachedLog(eventsFile));
  const changes: ContactView[] = [];
  const head = log[log.length - 1]!.position;
  for (let after = 0n; after < head; after += BigInt(batch)) {
    changes.push(
      ...projector.applyBatch({ after, upTo: after + BigInt(batch) > head ? head : after + BigInt(batch) }).changes,
    );
  }
  db.close();
  return changes;
}

function projectCopied(file: string, batch: number): ContactView[] {
  const db = openViewsDatabase(file);
  const incoming = new IncomingBatch();
  const projector = new Projector<ContactView>(db, VIEW_PROJECTIONS, incoming);
  const changes: ContactView[] = [];
  for (let i = 0; i < log.length; i += batch)
    changes.push(...projector.applyBatch(incoming.load(log.slice(i, i + batch))).changes);
  db.close();
  return changes;
}

describe('Projector', () => {
  it('the attached log and a copied batch give the same views, whatever the batch size', () => {
    const reference = join(dir, 'one-by-one.db');
    projectAttached(reference, 1);
    const expected = dump(reference);
    expect((expected.contacts as unknown[]).length).toBe(30);
    expect(expected.checkpoints).toEqual(
      VIEW_PROJECTIONS.map((p) => ({ name: p.name, position: String(log[log.length - 1]!.position) })).sort((a, b) =>
        a.name.localeCompare(b.name),
      ),
    );
    expect((expected.history as Array<{ contact_id: string }>).some((h) => h.contact_id === 'abc')).toBe(false);
    for (const size of [7, 1000]) {
      const attached = join(dir, `attached-${size}.db`);
      const copied = join(dir, `copied-${size}.db`);
      projectAttached(attached, size);
      projectCopied(copied, size);
      expect(dump(attached)).toEqual(expected);
      expect(dump(copied)).toEqual(expected);
    }
  });

  it('the offline rebuild (two threads, attached log) gives the same views as the live projection', async () => {
    const reference = join(dir, 'live.db');
    projectAttached(reference, 3);
    const rebuilt = join(dir, 'rebuilt.db');
    const progress: bigint[] = [];
    const result = await rebuildViews(
      { kind: 'sqlite', file: eventsFile, head: async () => log[log.length - 1]!.position },
      rebuilt,
      (p) => progress.push(p.position),
    );
    expect(result).toMatchObject({ head: log[log.length - 1]!.position, events: log.length });
    expect(progress[progress.length - 1]).toBe(log[log.length - 1]!.position);
    expect(dump(rebuilt)).toEqual(dump(reference));
    const pages = join(dir, 'rebuilt-from-pages.db');
    await rebuildViews(
      {
        kind: 'pages',
        head: async () => log[log.length - 1]!.position,
        page: async (after, max) => log.filter((e) => after === undefined || e.position > after).slice(0, max),
      },
      pages,
    );
    expect(dump(pages)).toEqual(dump(reference));
  });

  it('reports each contact change in log order, as the live stream shows it', () => {
    const changes = projectCopied(join(dir, 'changes.db'), 1000);
    const contactEvents = log.filter((e) => e.type === 'ContactStarted' || e.type === 'ContactEnded');
    expect(changes.map((c) => c.contactId)).toEqual(contactEvents.map((e) => e.data['contactId']));
  });

  it('two projectors on one views.db (two processes): each event applied once, the later one skips what the first did', () => {
    const shared = join(dir, 'shared.db');
    const first = openViewsDatabase(shared);
    const second = openViewsDatabase(shared);
    const a = new Projector<ContactView>(first, VIEW_PROJECTIONS, attachedLog(eventsFile));
    const b = new Projector<ContactView>(second, VIEW_PROJECTIONS, attachedLog(eventsFile));
    const head = log[log.length - 1]!.position;
    a.applyBatch({ after: 0n, upTo: 20n });
    const late = b.applyBatch({ after: 0n, upTo: 30n });
    a.applyBatch({ after: 20n, upTo: head });
    b.applyBatch({ after: 30n, upTo: head });
    // The late projector still tells its listeners what the first one applied.
    expect(late.changes.length).toBeGreaterThan(0);
    first.close();
    second.close();
    const reference = join(dir, 'reference.db');
    projectAttached(reference, 1000);
    expect(dump(shared)).toEqual(dump(reference));
  });
});
