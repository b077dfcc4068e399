// The read side over real HTTP (docs/design.md, HTTP): one contact, the paged list, the history with refusals, the SSE
// stream, /docs and /health — as the platform and as SecurityUsers of one business unit or another.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

type View = {
  contactId: string;
  businessUnitId: string;
  mediaType: string;
  state: string;
  position: string;
  [k: string]: unknown;
};
type Page = { items: View[]; next?: string };
type HistoryEvent = {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  position: string;
  recordedAt: string;
};
type Frame = { event?: string; id?: string; data?: string; comment?: string };

let service: ServiceProcess;
let client: OrchestratorClient;
const a = { ender: '', viewer: '', enderId: '', viewerId: '', endOnly: '' }; // bu-read-a
const b = { ender: '', viewer: '' }; // bu-read-b

const get = <T = Record<string, unknown>>(path: string, token?: string | null) =>
  client.request<T>('GET', path, token === undefined ? {} : { token });

/** An SSE reader over fetch: frames are parsed as they arrive; `close()` aborts the request. */
async function openStream(token: string) {
  const controller = new AbortController();
  const response = await fetch(`${service.url}/v1/contacts/stream`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const frames: Frame[] = [];
  const pump = (async () => {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame: Frame = {};
        for (const line of buffer.slice(0, end).split('\n')) {
          if (line.startsWith(':')) frame.comment = line.slice(1).trim();
          else if (line.startsWith('event: ')) frame.event = line.slice(7);
          else if (line.startsWith('id: ')) frame.id = line.slice(4);
          else if (line.startsWith('data: ')) frame.data = line.slice(6);
        }
        frames.push(frame);
        buffer = buffer.slice(end + 2);
      }
    }
  })().catch(() => undefined);
  const contacts = () =>
    frames.filter((f) => f.event === 'contact').map((f) => ({ id: f.id, view: JSON.parse(f.data!) as View }));
  return {
    response,
    contacts,
    async waitFor(predicate: (view: View) => boolean, what: string): Promise<void> {
      await expect
        .poll(() => contacts().some((c) => predicate(c.view)), { message: what, timeout: 5_000, interval: 50 })
        .toBe(true);
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}

beforeAll(async () => {
  service = await startServiceProcess();
  client = new OrchestratorClient(service.url, service.platformToken);
  Object.assign(a, await client.seedBusinessUnit('bu-read-a'));
  Object.assign(b, await client.seedBusinessUnit('bu-read-b'));
  await client.putProfile('end-only', ['Contacts.End']);
  await client.putAgent('bu-read-a-endonly', 'bu-read-a', 'end-only');
  a.endOnly = await client.securityUser('bu-read-a-endonly');
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

describe('GET /v1/contacts/:contactId', () => {
  let id: string;
  beforeAll(async () => {
    id = await client.startContact('bu-read-a', 'Email');
  });

  it('the platform and a viewer of the same business unit see the view', async () => {
    for (const token of [undefined, a.viewer, a.ender]) {
      const answer = await get<View>(`/v1/contacts/${id}`, token);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        contactId: id,
        businessUnitId: 'bu-read-a',
        mediaType: 'Email',
        state: 'Active',
      });
      expect(answer.body.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(BigInt(answer.body.position)).toBeGreaterThan(0n);
    }
  });

  it('another business unit gets the same 404 as for an unknown contact, never 403, never its owner', async () => {
    const other = await get(`/v1/contacts/${id}`, b.viewer);
    const unknown = await get('/v1/contacts/4040404040', b.viewer);
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain('bu-read-a');
    expect(other.body).toEqual({
      ...(unknown.body as object),
      message: (unknown.body['message'] as string).replace('4040404040', id),
    });
  });

  it('a SecurityUser without Contacts.View → 403', async () => {
    expect((await get(`/v1/contacts/${id}`, a.endOnly)).status).toBe(403);
  });

  it('a credential issued while the agent was active → 401 once the agent is inactive', async () => {
    await client.putAgent('bu-read-a-leaver', 'bu-read-a', 'viewer');
    const credential = await client.securityUser('bu-read-a-leaver');
    expect((await get(`/v1/contacts/${id}`, credential)).status).toBe(200);
    expect((await client.putAgent('bu-read-a-leaver', 'bu-read-a', 'viewer', false)).status).toBe(200);
    expect((await get(`/v1/contacts/${id}`, credential)).status).toBe(401);
    expect((await get('/v1/contacts', credential)).status).toBe(401);
  });
});

describe('GET /v1/contacts (list)', () => {
  const ids = ['9', '10', '100', '11', '1000000000000000000', '42', '7'];
  const numeric = [...ids].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
  beforeAll(async () => {
    for (const [i, id] of ids.entries()) await client.startContact('bu-page', i % 2 === 0 ? 'Chat' : 'SMS', id);
    await client.putAgent('bu-page-ender', 'bu-page', 'ender');
    const ender = await client.securityUser('bu-page-ender');
    for (const id of ['10', '42']) expect((await client.endContact(id, ender)).status).toBe(200);
  });

  it('pages with limit and next visit every contact exactly once, in numeric ID order', async () => {
    for (const limit of [1, 2, 3, 7, 1000]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const answer = await get<Page>(
          `/v1/contacts?businessUnitId=bu-page&limit=${limit}${after ? `&after=${after}` : ''}`,
        );
        expect(answer.status).toBe(200);
        expect(answer.body.items.length).toBeLessThanOrEqual(limit);
        seen.push(...answer.body.items.map((v) => v.contactId));
        after = answer.body.next;
        if (after === undefined) break;
      }
      expect(seen, `limit ${limit}`).toEqual(numeric);
    }
  });

  it('filters by state, mediaType and businessUnitId', async () => {
    const ended = await get<Page>('/v1/contacts?businessUnitId=bu-page&state=Ended');
    expect(ended.body.items.map((v) => v.contactId)).toEqual(['10', '42']);
    expect(
      ended.body.items.every(
        (v) => v.state === 'Ended' && v.endedBy === 'bu-page-ender' && v.disconnectReason === 'TerminateScript',
      ),
    ).toBe(true);
    const active = await get<Page>('/v1/contacts?businessUnitId=bu-page&state=Active&mediaType=Chat');
    expect(active.body.items.map((v) => v.contactId)).toEqual(['7', '9', '100', '1000000000000000000']);
    const sms = await get<Page>('/v1/contacts?mediaType=SMS&limit=1000');
    expect(sms.body.items.every((v) => v.mediaType === 'SMS')).toBe(true);
    expect(sms.body.items.filter((v) => v.businessUnitId === 'bu-page').map((v) => v.contactId)).toEqual([
      '10',
      '11',
      '42',
    ]);
  });

  it('an agent sees only its own business unit, and asking for another one → 403', async () => {
    await client.startContact('bu-read-a', 'Phone', '310001');
    await client.startContact('bu-read-b', 'Phone', '310002');
    const own = await get<Page>('/v1/contacts?limit=1000', a.viewer);
    expect(own.status).toBe(200);
    expect(own.body.items.map((v) => v.contactId)).toContain('310001');
    expect(own.body.items.every((v) => v.businessUnitId === 'bu-read-a')).toBe(true);
    expect((await get<Page>('/v1/contacts?businessUnitId=bu-read-a', a.viewer)).status).toBe(200);
    expect((await get('/v1/contacts?businessUnitId=bu-read-b', a.viewer)).status).toBe(403);
    expect((await get('/v1/contacts?businessUnitId=bu-page', a.viewer)).status).toBe(403);
  });
});

describe('GET /v1/contacts/:contactId/history', () => {
  it('orders the contact’s events and the refusals that named it, with full metadata', async () => {
    const id = await client.startContact('bu-read-a', 'Voicemail');
    expect((await client.endContact(id, a.viewer)).status).toBe(403);
    const ended = await client.request('POST', `/v1/contacts/${id}/end`, {
      token: a.ender,
      headers: { 'x-correlation-id': 'corr-read-side-1', 'idempotency-key': 'cmd-read-side-1' },
    });
    expect(ended.status).toBe(200);
    expect((await client.endContact(id, a.ender)).status).toBe(409);

    const history = await vi.waitFor(async () => {
      const answer = await get<{ contactId: string; events: HistoryEvent[] }>(`/v1/contacts/${id}/history`);
      expect(answer.status === 200 && answer.body.events.length >= 4, 'four history events').toBe(true);
      return answer;
    });
    const events = history.body.events;
    expect(history.body.contactId).toBe(id);
    expect(events.map((e) => [e.type, e.data['reason']])).toEqual([
      ['ContactStarted', undefined],
      ['EndContactRejected', 'Unauthorized'],
      ['ContactEnded', undefined],
      ['EndContactRejected', 'InvalidContactID'],
    ]);
    expect(events[1]!.data).toMatchObject({ contactId: id, agentId: a.viewerId, businessUnitId: 'bu-read-a' });
    expect(events[2]!.data).toMatchObject({
      contactId: id,
      businessUnitId: 'bu-read-a',
      mediaType: 'Voicemail',
      endedBy: a.enderId,
      disconnectReason: 'TerminateScript',
    });
    expect(events[2]!.metadata).toEqual({
      commandId: 'cmd-read-side-1',
      correlationId: 'corr-read-side-1',
      causationId: 'cmd-read-side-1',
      source: 'http',
      schemaVersion: 1,
    });
    for (const event of events) {
      expect(Object.keys(event.metadata).sort()).toEqual([
        'causationId',
        'commandId',
        'correlationId',
        'schemaVersion',
        'source',
      ]);
      expect(event.metadata['source']).toBe('http');
      expect(Number.isNaN(Date.parse(event.recordedAt))).toBe(false);
    }
    const positions = events.map((e) => BigInt(e.position));
    expect(positions).toEqual([...positions].sort((x, y) => (x < y ? -1 : 1)));
    expect(new Set(positions).size).toBe(4);

    expect((await get(`/v1/contacts/${id}/history`, a.viewer)).status).toBe(200);
    expect((await get(`/v1/contacts/${id}/history`, b.viewer)).status).toBe(404);
    expect((await get(`/v1/contacts/${id}/history`, a.endOnly)).status).toBe(403);
  });

  it('is paged like the list (docs/design.md, HTTP): limit 1-1000, next as ?after=, every event once, in log order', async () => {
    const id = await client.startContact('bu-read-a', 'SMS');
    for (let i = 0; i < 4; i++) expect((await client.endContact(id, a.viewer)).status).toBe(403);
    expect((await client.endContact(id, a.ender)).status).toBe(200);
    const all = await vi.waitFor(async () => {
      const answer = await get<{ events: HistoryEvent[] }>(`/v1/contacts/${id}/history`);
      expect(answer.body.events.length, 'six history events').toBe(6);
      return answer.body.events;
    });
    const seen: HistoryEvent[] = [];
    let after: string | undefined;
    for (let page = 0; page < 5; page++) {
      const answer = await get<{ contactId: string; events: HistoryEvent[]; next?: string }>(
        `/v1/contacts/${id}/history?limit=4${after ? `&after=${after}` : ''}`,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.events.length).toBeLessThanOrEqual(4);
      seen.push(...answer.body.events);
      after = answer.body.next;
      if (!after) break;
      expect(after).toBe(answer.body.events[answer.body.events.length - 1]!.position);
    }
    expect(seen).toEqual(all);
    expect((await get(`/v1/contacts/${id}/history?limit=1`)).body).toMatchObject({
      events: [all[0]],
      next: all[0]!.position,
    });
    expect((await get(`/v1/contacts/${id}/history?after=${all[5]!.position}`)).body).toEqual({
      contactId: id,
      events: [],
    });
    for (const bad of ['limit=0', 'limit=1001', 'after=x', 'colour=blue'])
      expect((await get(`/v1/contacts/${id}/history?${bad}`)).status, bad).toBe(400);
  });
});

describe('GET /v1/contacts/stream', () => {
  it('the platform receives `event: contact` frames for a started, then ended contact', async () => {
    const stream = await openStream(service.platformToken);
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const id = await client.startContact('bu-read-a', 'Digital');
      expect((await client.endContact(id, a.ender)).status).toBe(200);
      await stream.waitFor((v) => v.contactId === id && v.state === 'Ended', `Ended frame of ${id}`);
      const mine = stream.contacts().filter((c) => c.view.contactId === id);
      expect(mine.map((c) => c.view.state)).toEqual(['Active', 'Ended']);
      expect(mine[1]!.view).toMatchObject({
        businessUnitId: 'bu-read-a',
        mediaType: 'Digital',
        endedBy: a.enderId,
        disconnectReason: 'TerminateScript',
      });
      expect(mine.map((c) => c.id)).toEqual(mine.map((c) => c.view.position));
    } finally {
      await stream.close();
    }
  });

  it('an agent’s stream never carries another business unit’s contacts', async () => {
    const stream = await openStream(a.viewer);
    try {
      expect(stream.response.status).toBe(200);
      const foreign = await client.startContact('bu-read-b', 'Chat');
      const own = await client.startContact('bu-read-a', 'Chat');
      await stream.waitFor((v) => v.contactId === own, `frame of ${own}`);
      expect(stream.contacts().map((c) => c.view.contactId)).not.toContain(foreign);
      expect(stream.contacts().every((c) => c.view.businessUnitId === 'bu-read-a')).toBe(true);
    } finally {
      await stream.close();
    }
  });

  it('refuses a reader without credentials or without Contacts.View', async () => {
    expect((await get('/v1/contacts/stream', null)).status).toBe(401);
    expect((await get('/v1/contacts/stream', a.endOnly)).status).toBe(403);
  });
});

describe('operations', () => {
  it('GET /docs serves the OpenAPI UI and /docs-json documents every path of docs/design.md, HTTP', async () => {
    const ui = await client.request('GET', '/docs', { token: null });
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    expect(String(ui.body)).toMatch(/swagger-ui/i);
    const doc = await client.request<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
      'GET',
      '/docs-json',
      { token: null },
    );
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const documented = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented).toEqual(
      expect.arrayContaining([
        'PUT /v1/security-profiles/{profileId}',
        'PUT /v1/agents/{agentId}',
        'POST /v1/security-users',
        'POST /v1/contacts',
        'POST /v1/contacts/{contactId}/end',
        'POST /v1/actions/end-a-contact',
        'GET /v1/contacts/{contactId}',
        'GET /v1/contacts',
        'GET /v1/contacts/{contactId}/history',
        'GET /v1/contacts/stream',
        'GET /health',
      ]),
    );
  });

  it.runIf(process.platform === 'linux')(
    'the views thread alone runs at nice 10: the event loop and the writer come first for the CPU',
    () => {
      const pid = service.child.pid!;
      const niceOf = (tid: string): number =>
        Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
      const nices = readdirSync(`/proc/${pid}/task`).map(niceOf);
      expect(niceOf(String(pid))).toBe(0);
      expect(nices.filter((nice) => nice !== 0)).toEqual([10]);
    },
  );

  it('GET /health is 200 with status ok, the store up and the views caught up', async () => {
    const health = await vi.waitFor(async () => {
      const answer = await client.request<{
        status: string;
        details: Record<string, { status: string; caughtUp?: boolean }>;
      }>('GET', '/health');
      expect(answer.status === 200 && answer.body.details['contact-view']?.caughtUp === true, 'caught-up health').toBe(
        true,
      );
      return answer;
    });
    expect(health.body.status).toBe('ok');
    expect(health.body.details['eventStore']).toEqual({ status: 'up' });
    expect(health.body.details['contact-view']).toMatchObject({ status: 'up', caughtUp: true });
    expect(health.body.details['directory-view']).toBeUndefined();
  });
});
