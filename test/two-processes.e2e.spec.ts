/**
 * Two service processes on one DATA_DIR (a rolling deploy, a second instance): both take concurrent ends of the
 * same contacts, and exactly one OnSuccess per contact is answered; both read sides (one shared views.db) agree
 * with the log, history entries included, none of them applied twice.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';
import { waitFor } from './harness/suites.js';

const CONTACTS = 40;
const ENDS_PER_PROCESS = 3;
const dataDir = tempDataDir('co-two-');
const platformToken = 'two-processes-platform-token';
let first: ServiceProcess;
let second: ServiceProcess;

beforeAll(async () => {
  first = await startServiceProcess({ dataDir, platformToken });
  second = await startServiceProcess({ dataDir, platformToken });
});

afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
  removeDataDir(dataDir);
});

type LogEvent = { stream_id: string; type: string; data: string; position: number };

function log(): LogEvent[] {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    return db.prepare('SELECT stream_id, type, data, position FROM events ORDER BY position').all() as LogEvent[];
  } finally {
    db.close();
  }
}

it('concurrent ends of the same contacts through both processes: one OnSuccess each; both views agree with the log', async () => {
  const a = new OrchestratorClient(first.url, platformToken);
  const b = new OrchestratorClient(second.url, platformToken);
  const { ender } = await a.seedBusinessUnit('bu-shared');
  const contacts = await Promise.all(
    Array.from({ length: CONTACTS }, (_, i) => (i % 2 === 0 ? a : b).startContact('bu-shared', 'Phone')),
  );

  const answers = await Promise.all(
    contacts.flatMap((contactId) =>
      [a, b].flatMap((api) =>
        Array.from({ length: ENDS_PER_PROCESS }, () =>
          api.endContact(contactId, ender).then((answer) => ({ contactId, answer })),
        ),
      ),
    ),
  );
  for (const contactId of contacts) {
    const mine = answers.filter((x) => x.contactId === contactId).map((x) => x.answer);
    expect(
      mine.filter((x) => x.status === 200),
      contactId,
    ).toHaveLength(1);
    expect(
      mine.filter((x) => x.status === 409),
      contactId,
    ).toHaveLength(2 * ENDS_PER_PROCESS - 1);
  }

  const events = log();
  const head = String(events[events.length - 1]!.position);
  for (const api of [a, b]) {
    await waitFor(
      async () => {
        const health = await api.request<{ details: Record<string, { checkpoint?: string }> }>('GET', '/health');
        return health.body.details['contact-view']?.checkpoint === head;
      },
      20_000,
      `${api.url} views at the log head ${head}`,
    );
  }

  for (const contactId of contacts) {
    const stream = events.filter((e) => e.stream_id === `contact-${contactId}`);
    expect(
      stream.map((e) => e.type),
      contactId,
    ).toEqual(['ContactStarted', 'ContactEnded']);
    const ended = JSON.parse(stream[1]!.data) as { endedAt: string };
    // The history: the contact's own events and every refusal that named it, in log order, each once.
    const expected = events
      .filter(
        (e) =>
          e.stream_id === `contact-${contactId}` ||
          (e.type === 'EndContactRejected' && (JSON.parse(e.data) as { contactId: string }).contactId === contactId),
      )
      .map((e) => `${e.position}:${e.type}`);
    for (const api of [a, b]) {
      const view = await api.request<{ state: string; endedAt: string; position: string }>(
        'GET',
        `/v1/contacts/${contactId}`,
      );
      expect(view.body).toMatchObject({
        state: 'Ended',
        endedAt: ended.endedAt,
        position: String(stream[1]!.position),
      });
      const history = await api.request<{ events: Array<{ type: string; position: string }> }>(
        'GET',
        `/v1/contacts/${contactId}/history`,
      );
      expect(
        history.body.events.map((e) => `${e.position}:${e.type}`),
        `${api.url} ${contactId}`,
      ).toEqual(expected);
    }
  }
});

it('read-your-writes across the processes: an end answered by one is shown at once by the other’s reads', async () => {
  const a = new OrchestratorClient(first.url, platformToken);
  const b = new OrchestratorClient(second.url, platformToken);
  const { ender } = await a.seedBusinessUnit('bu-ryw');
  const contacts = await Promise.all(
    Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).startContact('bu-ryw', 'Chat')),
  );
  // Each end is read through the other process the moment it is answered, while the other ends keep the views busy.
  const seen = await Promise.all(
    contacts.map(async (contactId, i) => {
      const [taker, reader] = i % 2 === 0 ? [a, b] : [b, a];
      const end = await taker.endContact(contactId, ender);
      const view = await reader.request<{ state: string }>('GET', `/v1/contacts/${contactId}`);
      return `${contactId} ${end.status} ${view.body.state}`;
    }),
  );
  expect(seen).toEqual(contacts.map((contactId) => `${contactId} 200 Ended`));
});
