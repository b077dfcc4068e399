/**
 * Bulk end over real HTTP (docs/design.md, Bulk end): 500 contacts in one batch, each ContactEnded correlated to the batch; a mixed
 * batch answers each contact the branch a single end would; a retried batch answers the same and writes nothing;
 * bad input is a 400 naming the field and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient, type Answer } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';
import { settledHead } from './harness/views.js';

type Item = { contactId: string; branch: string; status: number; error?: { code: string; message: string } };
type Batch = {
  batchId: string;
  results: Item[];
  summary: Record<string, number>;
  branch?: string;
  error?: { code: string };
};
type History = { events: Array<{ type: string; metadata: Record<string, unknown> }> };

let service: ServiceProcess;
let api: OrchestratorClient;
let bu1: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;

const endBatch = (body: unknown, token: string | null, key?: string) =>
  api.request<Batch>('POST', '/v1/contacts/end-batch', { token, body, headers: key ? { 'idempotency-key': key } : {} });

async function startMany(businessUnitId: string, mediaType: string, count: number, skill?: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 25) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, async () => {
        const answer = await api.request<{ contactId: string }>('POST', '/v1/contacts', {
          body: { businessUnitId, mediaType, ...(skill ? { skill } : {}) },
        });
        expect(answer.status).toBe(201);
        return answer.body.contactId;
      }),
    );
    ids.push(...chunk);
  }
  return ids;
}

async function endedEvent(contactId: string) {
  const history = await api.request<History>('GET', `/v1/contacts/${contactId}/history`);
  return history.body.events.filter((e) => e.type === 'ContactEnded');
}

beforeAll(async () => {
  service = await startServiceProcess({ env: { LOG_LEVEL: 'warn' } });
  api = new OrchestratorClient(service.url, service.platformToken);
  bu1 = await api.seedBusinessUnit('bu-one');
  // The other business unit: contacts started there (startMany('bu-two', …)) are out of bu-one's reach.
  await api.seedBusinessUnit('bu-two');
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

describe('POST /v1/contacts/end-batch', () => {
  it('ends 500 active contacts in one batch; each has one ContactEnded whose correlationId is the batch command ID', async () => {
    const ids = await startMany('bu-one', 'Phone', 500);
    const answer = await endBatch({ contactIds: ids }, bu1.ender, 'batch-500');
    expect(answer.status).toBe(200);
    expect(answer.body.batchId).toBe('batch-500');
    expect(answer.body.summary).toMatchObject({ OnSuccess: 500, OnInvalidContactID: 0 });
    expect(answer.body.results.map((r) => r.contactId)).toEqual(ids);
    expect(new Set(answer.body.results.map((r) => `${r.branch} ${r.status}`))).toEqual(new Set(['OnSuccess 200']));
    const commandIds = new Set<unknown>();
    for (let i = 0; i < ids.length; i += 50) {
      const events = await Promise.all(ids.slice(i, i + 50).map(endedEvent));
      for (const ended of events) {
        expect(ended).toHaveLength(1);
        expect(ended[0]!.metadata).toMatchObject({ correlationId: 'batch-500', source: 'http' });
        commandIds.add(ended[0]!.metadata['commandId']);
      }
    }
    // Each end is its own command, correlated to the batch.
    expect(commandIds.size).toBe(500);
    const list = await api.request<{ items: unknown[] }>(
      'GET',
      '/v1/contacts?businessUnitId=bu-one&state=Active&limit=1000',
    );
    expect(list.body.items).toHaveLength(0);
  });

  it('a mixed batch answers each contact the branch and status a single end would: ended, unknown, another business unit, already ended', async () => {
    const [active, alreadyEnded] = await startMany('bu-one', 'Chat', 2);
    const [elsewhere] = await startMany('bu-two', 'Chat', 1);
    expect((await api.endContact(alreadyEnded!, bu1.ender)).status).toBe(200);
    const unknown = '9999999999999999001';
    const answer = await endBatch({ contactIds: [active, unknown, elsewhere, alreadyEnded] }, bu1.ender);
    expect(answer.status).toBe(200);
    expect(answer.body.results.map(({ contactId, branch, status }) => ({ contactId, branch, status }))).toEqual([
      { contactId: active, branch: 'OnSuccess', status: 200 },
      { contactId: unknown, branch: 'OnInvalidContactID', status: 404 },
      { contactId: elsewhere, branch: 'OnInvalidContactID', status: 404 },
      { contactId: alreadyEnded, branch: 'OnInvalidContactID', status: 409 },
    ]);
    // Another unit's contact reads exactly like an unknown one.
    expect(answer.body.results[2]!.error).toEqual({
      code: 'InvalidContactID',
      message: `Contact ${elsewhere} not found`,
    });
    expect(answer.body.summary).toMatchObject({
      OnSuccess: 1,
      OnInvalidContactID: 3,
      OnUnauthorized: 0,
      OnInvalidSecurityUser: 0,
      Default: 0,
    });
    expect((await api.request('GET', `/v1/contacts/${elsewhere}`)).body).toMatchObject({ state: 'Active' });
    // Each refusal is recorded against the contact it names, correlated to the batch.
    const refusals = (await api.request<History>('GET', `/v1/contacts/${alreadyEnded}/history`)).body.events.filter(
      (e) => e.type === 'EndContactRejected',
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.metadata['correlationId']).toBe(answer.body.batchId);
  });

  it('a retried batch (same Idempotency-Key) answers the same results and writes nothing new, by IDs and by filter', async () => {
    const [active, alreadyEnded] = await startMany('bu-one', 'Email', 2);
    await api.endContact(alreadyEnded!, bu1.ender);
    const byIds = { contactIds: [active, '9999999999999999002', alreadyEnded] };
    const first = await endBatch(byIds, bu1.ender, 'retry-ids');
    expect(first.body.summary).toMatchObject({ OnSuccess: 1, OnInvalidContactID: 2 });
    const head = await settledHead(api);
    // A fresh SecurityUser of the same agent: the retry is the same batch.
    const again = await endBatch(byIds, await api.securityUser(bu1.enderId), 'retry-ids');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await settledHead(api)).toBe(head);

    await startMany('bu-one', 'SMS', 3, 'stuck');
    const filter = { filter: { mediaType: 'SMS', skill: 'stuck' } };
    const firstFilter = await endBatch(filter, bu1.ender, 'retry-filter');
    expect(firstFilter.body.summary).toMatchObject({ OnSuccess: 3 });
    const filterHead = await settledHead(api);
    const retried = await endBatch(filter, bu1.ender, 'retry-filter');
    expect(retried.body).toEqual(firstFilter.body);
    expect(await settledHead(api)).toBe(filterHead);
  });

  it('a filter ends only the matching active contacts of the caller’s business unit, at most limit', async () => {
    const chats = await startMany('bu-one', 'WorkItem', 4, 'queue-a');
    await startMany('bu-one', 'WorkItem', 2, 'queue-b');
    const others = await startMany('bu-two', 'WorkItem', 2, 'queue-a');
    const answer = await endBatch({ filter: { mediaType: 'WorkItem', skill: 'queue-a' }, limit: 3 }, bu1.ender);
    expect(answer.status).toBe(200);
    expect(answer.body.summary.OnSuccess).toBe(3);
    expect(answer.body.results.every((r) => chats.includes(r.contactId))).toBe(true);
    const rest = await endBatch(
      { filter: { mediaType: 'WorkItem', startedBefore: new Date(Date.now() + 60_000).toISOString() } },
      bu1.ender,
    );
    expect(rest.body.summary.OnSuccess).toBe(3);
    for (const id of others)
      expect((await api.request('GET', `/v1/contacts/${id}`)).body).toMatchObject({ state: 'Active' });
  });

  it('a caller without Contacts.End gets 403 OnUnauthorized; a bad credential 401 OnInvalidSecurityUser; nothing is ended', async () => {
    const [id] = await startMany('bu-one', 'Voicemail', 1);
    const unauthorized = await endBatch({ contactIds: [id] }, bu1.viewer);
    expect(unauthorized.status).toBe(403);
    expect(unauthorized.body).toMatchObject({
      branch: 'OnUnauthorized',
      error: { code: 'Unauthorized' },
      summary: { OnUnauthorized: 1 },
    });
    const byFilter = await endBatch({ filter: {} }, bu1.viewer);
    expect(byFilter.status).toBe(403);
    expect(byFilter.body.results).toEqual([]);
    const invalid = await endBatch({ contactIds: [id] }, 'not-a-token');
    expect(invalid.status).toBe(401);
    expect(invalid.headers.get('www-authenticate')).toBe('Bearer');
    expect(invalid.body).toMatchObject({
      branch: 'OnInvalidSecurityUser',
      results: [{ contactId: id, branch: 'OnInvalidSecurityUser', status: 401 }],
    });
    expect((await api.request('GET', `/v1/contacts/${id}`)).body).toMatchObject({ state: 'Active' });
  });

  it('a forged SecurityUser with 1,000 IDs is refused before any of them is looked at: one count in the log, not 1,000 refusals', async () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => String(7_000_000 + i));
    const head = BigInt(await settledHead(api));
    const forged = await endBatch({ contactIds: ids }, 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.forged');
    expect(forged.status).toBe(401);
    expect(forged.body.summary).toMatchObject({ OnInvalidSecurityUser: 1_000, OnSuccess: 0 });
    expect(forged.body.results.every((r) => r.branch === 'OnInvalidSecurityUser' && r.status === 401)).toBe(true);
    // What it wrote, read from the audit log (platform): one summary counting the 1,000, no refusal per contact.
    await settledHead(api);
    const audit = await fetch(`${api.url}/v1/audit/events?from=${head + 1n}`, {
      headers: { authorization: `Bearer ${api.platformToken}` },
    }).then((r) => r.text());
    const written = audit
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; data: { count?: number; reason?: string } });
    expect(written.filter((e) => e.type === 'EndContactRejected')).toEqual([]);
    expect(
      written.filter((e) => e.type === 'EndContactRejectionsSuppressed').map((e) => `${e.data.reason} ${e.data.count}`),
    ).toEqual(['InvalidSecurityUser 1000']);
  });

  it('a refused keyed batch is not remembered: retried once the permission is granted, it ends the contacts', async () => {
    await api.putProfile('late', ['Contacts.View']);
    await api.putAgent('bu-one-late', 'bu-one', 'late');
    const late = await api.securityUser('bu-one-late');
    const [id] = await startMany('bu-one', 'Phone', 1);
    expect((await endBatch({ contactIds: [id] }, late, 'late-batch')).status).toBe(403);
    await api.putProfile('late', ['Contacts.View', 'Contacts.End']);
    const retried = await endBatch({ contactIds: [id] }, late, 'late-batch');
    expect(retried.status).toBe(200);
    expect(retried.body.results).toEqual([{ contactId: id, branch: 'OnSuccess', status: 200 }]);
  });

  describe('bad input: 400 naming the field, nothing written', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(100_000 + i));
    const cases: Array<[string, () => Promise<Answer>, string]> = [
      ['1,001 IDs', () => endBatch({ contactIds: ids(1001) }, bu1.ender), 'contactIds'],
      ['a malformed ID', () => endBatch({ contactIds: ['123', '12ab'] }, bu1.ender), 'contactIds[1]'],
      ['an unknown filter key', () => endBatch({ filter: { queue: 'x' } }, bu1.ender), 'filter.queue'],
      ['an empty body', () => api.request('POST', '/v1/contacts/end-batch', { token: bu1.ender }), 'body'],
      ['an empty object', () => endBatch({}, bu1.ender), 'contactIds'],
      ['an empty list', () => endBatch({ contactIds: [] }, bu1.ender), 'contactIds'],
      ['both forms', () => endBatch({ contactIds: ['1'], filter: {} }, bu1.ender), 'filter'],
      ['an unknown media type', () => endBatch({ filter: { mediaType: 'Fax' } }, bu1.ender), 'filter.mediaType'],
      ['a limit of 1,001', () => endBatch({ filter: {}, limit: 1001 }, bu1.ender), 'limit'],
      ['a limit with IDs', () => endBatch({ contactIds: ['1'], limit: 5 }, bu1.ender), 'limit'],
      [
        'a date that is not one',
        () => endBatch({ filter: { startedBefore: '2026-13-45T00:00:00Z' } }, bu1.ender),
        'filter.startedBefore',
      ],
      ['an unknown field', () => endBatch({ contactIds: ['1'], force: true }, bu1.ender), 'force'],
    ];
    it.each(cases)('%s', async (_name, send, field) => {
      await startMany('bu-one', 'Digital', 1);
      const before = await settledHead(api);
      const answer = await send();
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      const body = answer.body as unknown as { field?: string; message?: string };
      expect(body.field).toBe(field);
      expect(body.message).toContain(field);
      expect(await settledHead(api)).toBe(before);
    });
  });
});
