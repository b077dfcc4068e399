/**
 * Refusals over HTTP: authenticated agents are bounded per minute like
 * anonymous callers, a malformed contact ID is recorded truncated, anonymous refusals stay in the audit stream but
 * not in a contact's history, and the suppressed counts survive a SIGKILL (at most FLUSH_MS of them lost).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { serviceForFile, type SeededBusinessUnit } from './harness/file-service.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

type History = { events: Array<{ type: string; data: Record<string, unknown> }> };
type Row = { type: string; data: string };

/** The event log itself (the audit stream), read from the embedded store's file. */
function logged(dataDir: string, type: string): Array<Record<string, unknown>> {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT type, data FROM events WHERE type = ? ORDER BY position').all(type) as Row[]).map(
      (r) => JSON.parse(r.data) as Record<string, unknown>,
    );
  } finally {
    db.close();
  }
}

describe('refusals on a running service', () => {
  const suite = serviceForFile('audit-bu', {
    env: { AGENT_REFUSALS_PER_MINUTE: '3', ANONYMOUS_REFUSALS_PER_MINUTE: '2' },
  });
  let service: ServiceProcess;
  let api: OrchestratorClient;
  let bu: SeededBusinessUnit;
  beforeAll(() => {
    ({ service, client: api, bu } = suite);
  });

  const history = async (contactId: string, token?: string) =>
    (await api.request<History>('GET', `/v1/contacts/${contactId}/history`, token === undefined ? {} : { token })).body
      .events;

  it('anonymous refusals are in the audit stream, not in the contact history (for agents or the platform)', async () => {
    const contactId = await api.startContact('audit-bu', 'Chat');
    expect(
      (
        await api.request('POST', `/v1/contacts/${contactId}/end`, {
          token: null,
          headers: { 'x-correlation-id': 'chosen-by-anyone' },
        })
      ).status,
    ).toBe(401);
    expect((await api.endContact(contactId, 'garbage')).status).toBe(401);
    expect((await api.endContact(contactId, bu.viewer)).status).toBe(403);
    // Recorded before the answers; a history read waits for the views to reach the log's head.
    for (const events of [await history(contactId), await history(contactId, bu.viewer)]) {
      expect(events.map((e) => [e.type, e.data['reason']])).toEqual([
        ['ContactStarted', undefined],
        ['EndContactRejected', 'Unauthorized'],
      ]);
    }
    const anonymous = logged(service.dataDir, 'EndContactRejected').filter(
      (e) => e['contactId'] === contactId && e['reason'] === 'InvalidSecurityUser',
    );
    expect(anonymous).toHaveLength(2);
  });

  it('an authenticated agent gets AGENT_REFUSALS_PER_MINUTE recorded refusals a minute; the rest are summarised', async () => {
    const contactId = await api.startContact('audit-bu', 'Phone');
    for (let i = 0; i < 12; i++) expect((await api.endContact(contactId, bu.viewer)).status).toBe(403);
    const refusals = logged(service.dataDir, 'EndContactRejected').filter((e) => e['contactId'] === contactId);
    // The viewer already spent one refusal of its budget in the test above.
    expect(refusals).toHaveLength(2);
    // The rest are counted, and the counts written by the next flush (every second).
    const summarised = () =>
      logged(service.dataDir, 'EndContactRejectionsSuppressed').filter((e) => e['agentId'] === bu.viewerId);
    await vi.waitFor(() => expect(summarised().reduce((sum, e) => sum + Number(e['count']), 0)).toBe(10), {
      timeout: 10_000,
      interval: 50,
    });
  });

  it('a 4,000-character contact ID is answered 400 and recorded truncated to 64 characters', async () => {
    const long = '7'.repeat(20) + 'x'.repeat(3980);
    const answer = await api.endContact(long, bu.ender);
    expect(answer.status).toBe(400);
    const [recorded] = logged(service.dataDir, 'EndContactRejected').filter((e) =>
      String(e['contactId']).startsWith('7'.repeat(20)),
    );
    expect(String(recorded!['contactId'])).toHaveLength(64);
  });
});

describe('suppressed anonymous refusals and SIGKILL', () => {
  it('the counts reach the event log without a stop, so a SIGKILL after that loses none', async () => {
    const service = await startServiceProcess({ env: { ANONYMOUS_REFUSALS_PER_MINUTE: '1' } });
    try {
      const api = new OrchestratorClient(service.url, service.platformToken);
      const contactId = await api.startContact('kill-bu', 'Chat');
      for (let i = 0; i < 20; i++) expect((await api.endContact(contactId, null)).status).toBe(401);
      const counted = () =>
        logged(service.dataDir, 'EndContactRejectionsSuppressed')
          .filter((e) => e['clientAddress'] === '127.0.0.1')
          .reduce((sum, e) => sum + Number(e['count']), 0);
      await vi.waitFor(() => expect(counted()).toBe(19), { timeout: 10_000, interval: 50 });
      await service.kill();
      expect(counted()).toBe(19);
    } finally {
      await service.kill();
      removeDataDir(service.dataDir);
    }
  });
});
