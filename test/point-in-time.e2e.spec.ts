// GET /v1/contacts/{id}?at= over real HTTP (docs/design.md, HTTP and Audit and replay): the view as it stood at a log position or a time is
// the contact's events up to that point folded by the domain's evolve. Checked against two independent answers:
// the live view (set-based SQL) as it was right after each command, and foldContact over the history's events.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { foldContact, type ContactEventEnvelope } from '#contacts';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';
import { settledHead } from './harness/views.js';
import { seededRandom as random } from './harness/random.js';

type View = { contactId: string; businessUnitId: string; state: string; position: string; [k: string]: unknown };
type HistoryEvent = {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  position: string;
  recordedAt: string;
};

let service: ServiceProcess;
let client: OrchestratorClient;
let ender = '';
let otherViewer = '';
/** The live view of a contact right after each command that changed it, with that command's position. */
const snapshots = new Map<string, Array<{ position: bigint; view: View }>>();
const ids: string[] = [];

const get = <T = Record<string, unknown>>(path: string, token?: string) =>
  client.request<T>('GET', path, token === undefined ? {} : { token });

async function snapshot(contactId: string, position: string): Promise<void> {
  const live = await get<View>(`/v1/contacts/${contactId}`);
  expect(live.status).toBe(200);
  const list = snapshots.get(contactId) ?? [];
  list.push({ position: BigInt(position), view: live.body });
  snapshots.set(contactId, list);
}

beforeAll(async () => {
  service = await startServiceProcess({ env: { RATE_LIMIT_PER_MINUTE: '0' } });
  client = new OrchestratorClient(service.url, service.platformToken);
  ({ ender } = await client.seedBusinessUnit('bu-pit'));
  ({ viewer: otherViewer } = await client.seedBusinessUnit('bu-pit-other'));
  // A generated log: starts, ends, refusals (an unknown contact, a second end) and directory writes interleaved.
  const pick = random(20261127);
  const media = ['Phone', 'Chat', 'Email', 'SMS'];
  for (let step = 0; step < 60; step++) {
    const roll = pick();
    const active = ids.filter((id) => snapshots.get(id)!.at(-1)!.view.state === 'Active');
    if (roll < 0.4 || active.length === 0) {
      const answer = await client.request<{ contactId: string; position: string }>('POST', '/v1/contacts', {
        body: {
          businessUnitId: 'bu-pit',
          mediaType: media[step % media.length],
          ...(step % 3 === 0 ? { skill: `skill-${step}` } : {}),
        },
      });
      expect(answer.status).toBe(201);
      ids.push(answer.body.contactId);
      await snapshot(answer.body.contactId, answer.body.position);
    } else if (roll < 0.75) {
      const id = active[Math.floor(pick() * active.length)]!;
      const answer = await client.endContact(id, ender);
      expect(answer.status).toBe(200);
      await snapshot(id, answer.body.position!);
    } else if (roll < 0.9) {
      // A refusal naming an ended contact (409) or an unknown one (404): the log moves, no view changes.
      const ended = ids.filter((id) => !active.includes(id));
      const id = ended.length > 0 ? ended[Math.floor(pick() * ended.length)]! : '999999999';
      expect([404, 409]).toContain((await client.endContact(id, ender)).status);
    } else {
      await client.putAgent(`bu-pit-agent-${step}`, 'bu-pit', 'viewer');
    }
  }
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

/** What the live view said of `contactId` at `position`: its last snapshot at or before it. */
function liveViewAt(contactId: string, position: bigint): View | undefined {
  return snapshots
    .get(contactId)!
    .filter((s) => s.position <= position)
    .at(-1)?.view;
}

describe('GET /v1/contacts/:id?at=<position>', () => {
  it('at random positions across the log, every contact equals the live view of that moment and the fold of its events up to it', async () => {
    const head = BigInt(await settledHead(client));
    const pick = random(7);
    const positions = [1n, head, ...Array.from({ length: 25 }, () => 1n + BigInt(Math.floor(pick() * Number(head))))];
    for (const id of ids) {
      const history = (await get<{ events: HistoryEvent[] }>(`/v1/contacts/${id}/history`)).body.events;
      for (const position of positions) {
        const answer = await get<View>(`/v1/contacts/${id}?at=${position}`);
        const expected = liveViewAt(id, position);
        if (expected === undefined) {
          expect(answer.status, `contact ${id} at ${position}`).toBe(404);
          continue;
        }
        expect(answer.status, `contact ${id} at ${position}`).toBe(200);
        expect(answer.body, `contact ${id} at ${position}`).toStrictEqual(expected);
        const own = history
          .filter((e) => (e.type === 'ContactStarted' || e.type === 'ContactEnded') && BigInt(e.position) <= position)
          .map((e) => ({ type: e.type, data: e.data, commandId: e.metadata['commandId'] }) as ContactEventEnvelope);
        expect(answer.body.state).toBe(foldContact(own).status);
      }
    }
  });

  it('at the head, the answer is the live view', async () => {
    const head = await settledHead(client);
    for (const id of ids) {
      expect((await get<View>(`/v1/contacts/${id}?at=${head}`)).body).toStrictEqual(
        (await get<View>(`/v1/contacts/${id}`)).body,
      );
    }
  });

  it('a position before the contact started → 404', async () => {
    const started = snapshots.get(ids[0]!)![0]!.position;
    const answer = await get(`/v1/contacts/${ids[0]}?at=${started - 1n}`);
    expect(answer.status).toBe(404);
    expect((await get(`/v1/contacts/${ids[0]}?at=0`)).status).toBe(404);
  });
});

describe('GET /v1/contacts/:id?at=<ISO-8601 time>', () => {
  let id = '';
  let started: HistoryEvent;
  let ended: HistoryEvent;
  beforeAll(async () => {
    id = await client.startContact('bu-pit', 'Chat');
    const startedAt = Date.parse(
      (await get<{ events: HistoryEvent[] }>(`/v1/contacts/${id}/history`)).body.events[0]!.recordedAt,
    );
    // A millisecond between the two events (the service's clock is this machine's): usually past already.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(startedAt + 2), { timeout: 1_000, interval: 1 });
    expect((await client.endContact(id, ender)).status).toBe(200);
    const history = (await get<{ events: HistoryEvent[] }>(`/v1/contacts/${id}/history`)).body.events;
    started = history.find((e) => e.type === 'ContactStarted')!;
    ended = history.find((e) => e.type === 'ContactEnded')!;
  });

  it('a time between two events answers the earlier state', async () => {
    const between = new Date((Date.parse(started.recordedAt) + Date.parse(ended.recordedAt)) / 2);
    expect(between.getTime()).toBeGreaterThan(Date.parse(started.recordedAt));
    expect(between.getTime()).toBeLessThan(Date.parse(ended.recordedAt));
    const answer = await get<View>(`/v1/contacts/${id}?at=${between.toISOString()}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ contactId: id, state: 'Active', position: started.position });
    expect(answer.body).not.toHaveProperty('endedAt');
  });

  it('the time of an event includes it; a zone offset names the same instant', async () => {
    expect((await get<View>(`/v1/contacts/${id}?at=${ended.recordedAt}`)).body).toMatchObject({
      state: 'Ended',
      position: ended.position,
    });
    const inParis = new Date(Date.parse(ended.recordedAt) + 3_600_000).toISOString().replace('Z', '+01:00');
    expect((await get<View>(`/v1/contacts/${id}?at=${encodeURIComponent(inParis)}`)).body).toMatchObject({
      state: 'Ended',
    });
  });

  it('a time before the contact started → 404', async () => {
    const before = new Date(Date.parse(started.recordedAt) - 1).toISOString();
    expect((await get(`/v1/contacts/${id}?at=${before}`)).status).toBe(404);
  });

  it('another business unit gets 404 at any point, as for the live view', async () => {
    expect((await get(`/v1/contacts/${id}?at=${ended.position}`, otherViewer)).status).toBe(404);
  });

  it('a malformed or impossible `at`, or an unknown parameter → 400 naming it', async () => {
    for (const at of ['yesterday', '-1', '2026-11-27', '2026-02-30T10:00:00Z', '1.5']) {
      const answer = await get(`/v1/contacts/${id}?at=${encodeURIComponent(at)}`);
      expect(answer.status, at).toBe(400);
      expect(answer.body['field'], at).toBe('at');
    }
    const unknown = await get(`/v1/contacts/${id}?when=1`);
    expect(unknown.status).toBe(400);
    expect(unknown.body['field']).toBe('when');
  });
});
