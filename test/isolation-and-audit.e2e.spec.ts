/**
 * What one business unit may learn about another, what the audit keeps, and idempotent starts — over real HTTP:
 * history leaves out other units' agents, a retried key refused for another reason is recorded again, a live
 * stream ends when its agent is deactivated, paging survives IDs equal but for leading zeros, and POST /v1/contacts
 * honours Idempotency-Key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

let service: ServiceProcess;
let api: OrchestratorClient;
let acme: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;
let globex: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;

type History = { events: Array<{ type: string; data: Record<string, unknown> }> };

beforeAll(async () => {
  service = await startServiceProcess({ env: { SSE_HEARTBEAT_MS: '200' } });
  api = new OrchestratorClient(service.url, service.platformToken);
  acme = await api.seedBusinessUnit('acme');
  globex = await api.seedBusinessUnit('globex');
});
afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

describe('history across business units', () => {
  it('an agent does not see another unit’s refusals naming its contact; the platform sees them all', async () => {
    const contactId = await api.startContact('acme', 'Phone');
    expect((await api.endContact(contactId, globex.ender)).status).toBe(404);
    expect((await api.endContact(contactId, acme.viewer)).status).toBe(403);
    const asAgent = await api.request<History>('GET', `/v1/contacts/${contactId}/history`, { token: acme.viewer });
    expect(asAgent.body.events.map((e) => e.type)).toEqual(['ContactStarted', 'EndContactRejected']);
    expect(JSON.stringify(asAgent.body)).not.toContain('globex');
    const asPlatform = await api.request<History>('GET', `/v1/contacts/${contactId}/history`);
    expect(
      asPlatform.body.events.filter((e) => e.type === 'EndContactRejected').map((e) => e.data['businessUnitId']),
    ).toEqual(['globex', 'acme']);
  });
});

describe('audit of refusals', () => {
  it('the same key refused again for another reason, or by another caller, is recorded again', async () => {
    const contactId = await api.startContact('acme', 'Chat');
    const key = `retry-${contactId}`;
    expect((await api.endContact(contactId, 'garbage', { idempotencyKey: key })).status).toBe(401);
    expect((await api.endContact(contactId, acme.viewer, { idempotencyKey: key })).status).toBe(403);
    expect((await api.endContact(contactId, acme.viewer, { idempotencyKey: key })).status).toBe(403);
    const history = await api.request<History>('GET', `/v1/contacts/${contactId}/history`);
    const reasons = history.body.events.filter((e) => e.type === 'EndContactRejected').map((e) => e.data['reason']);
    // The exact retry (same key, same caller, same reason) is one fact; the other reason is another. The anonymous
    // refusal is in the audit stream, not in the history.
    expect(reasons).toEqual(['Unauthorized']);
    expect((await api.endContact(contactId, acme.ender, { idempotencyKey: key })).status).toBe(200);
  });
});

describe('the live stream', () => {
  it('ends when the agent reading it is deactivated', async () => {
    await api.putAgent('acme-watcher', 'acme', 'viewer', true);
    const credential = await api.securityUser('acme-watcher');
    const controller = new AbortController();
    const response = await fetch(`${service.url}/v1/contacts/stream`, {
      headers: { authorization: `Bearer ${credential}` },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const ended = (async () => {
      const reader = response.body!.getReader();
      for (;;) if ((await reader.read()).done) return 'ended';
    })().catch(() => 'aborted');
    await api.putAgent('acme-watcher', 'acme', 'viewer', false);
    const outcome = await Promise.race([ended, new Promise((r) => setTimeout(() => r('still open'), 5_000))]);
    controller.abort();
    expect(outcome).toBe('ended');
  });
});

describe('paging', () => {
  it('visits IDs equal but for leading zeros exactly once each', async () => {
    for (const id of ['7', '07', '007']) await api.startContact('zeros', 'SMS', id);
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const answer = await api.request<{ items: Array<{ contactId: string }>; next?: string }>(
        'GET',
        `/v1/contacts?businessUnitId=zeros&limit=1${after ? `&after=${after}` : ''}`,
      );
      seen.push(...answer.body.items.map((i) => i.contactId));
      if (!answer.body.next) break;
      after = answer.body.next;
    }
    expect(seen.sort()).toEqual(['007', '07', '7']);
  });
});

describe('POST /v1/contacts with Idempotency-Key', () => {
  it('a retry answers the contact it started, once', async () => {
    const send = () =>
      api.request<{ contactId: string; position: string }>('POST', '/v1/contacts', {
        body: { businessUnitId: 'acme', mediaType: 'Email' },
        headers: { 'idempotency-key': 'start-abc' },
      });
    const [first, second] = [await send(), await send()];
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    const history = await api.request<History>('GET', `/v1/contacts/${first.body.contactId}/history`);
    expect(history.body.events.map((e) => e.type)).toEqual(['ContactStarted']);
  });
});
