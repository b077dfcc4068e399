/**
 * End a Contact over real HTTP against the running service on a temp DATA_DIR: every branch on one media type (the
 * decider's unit spec runs every branch on every media type: docs/testing.md), 25 concurrent commands on one contact,
 * and Idempotency-Key replays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaType } from '#contacts';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

let service: ServiceProcess;
let api: OrchestratorClient;
let bu1: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;
let bu2: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;
let inactiveCredential: string;

type History = { events: Array<{ type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }> };
const history = async (contactId: string) =>
  (await api.request<History>('GET', `/v1/contacts/${contactId}/history`)).body.events;

beforeAll(async () => {
  // Every anonymous refusal of this file is asserted in a history, so the per-client bound is raised here.
  service = await startServiceProcess({ env: { ANONYMOUS_REFUSALS_PER_MINUTE: '1000' } });
  api = new OrchestratorClient(service.url, service.platformToken);
  bu1 = await api.seedBusinessUnit('bu-one');
  bu2 = await api.seedBusinessUnit('bu-two');
  // A credential issued while the agent was active, then the agent is deactivated: invalid from then on.
  await api.putAgent('bu-one-leaver', 'bu-one', 'ender', true);
  inactiveCredential = await api.securityUser('bu-one-leaver');
  await api.putAgent('bu-one-leaver', 'bu-one', 'ender', false);
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

// One media type over HTTP: what the media type changes is the decider's, and its unit spec covers all seven.
const mediaType: MediaType = 'Voicemail';

describe(`EndContact on a ${mediaType} contact`, () => {
  it('OnSuccess: 200, TerminateScript, the view says Ended, one ContactEnded in the history', async () => {
    const contactId = await api.startContact('bu-one', mediaType);
    const answer = await api.endContact(contactId, bu1.ender);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      contactId,
      branch: 'OnSuccess',
      outputs: { __DISCONNECTREASON: 'TerminateScript' },
    });
    expect(Date.parse(answer.body.endedAt!)).not.toBeNaN();
    const view = await api.request('GET', `/v1/contacts/${contactId}`);
    expect(view.body).toMatchObject({
      contactId,
      mediaType,
      state: 'Ended',
      endedBy: bu1.enderId,
      disconnectReason: 'TerminateScript',
      position: answer.body.position,
    });
    const events = await history(contactId);
    expect(events.map((e) => e.type)).toEqual(['ContactStarted', 'ContactEnded']);
    expect(events[1]!.metadata).toMatchObject({ source: 'http', schemaVersion: 1 });
  });

  it('OnInvalidSecurityUser: 401 for a missing, forged, or deactivated credential; the contact stays Active', async () => {
    const contactId = await api.startContact('bu-one', mediaType);
    const forged = `${bu1.ender.slice(0, -4)}AAAA`;
    for (const credential of [null, 'not-a-token', forged, inactiveCredential]) {
      const answer = await api.endContact(contactId, credential);
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({
        contactId,
        branch: 'OnInvalidSecurityUser',
        error: { code: 'InvalidSecurityUser' },
      });
    }
    expect((await api.request('GET', `/v1/contacts/${contactId}`)).body).toMatchObject({ state: 'Active' });
    // Anonymous refusals stay in the audit stream only; the deactivated agent's credential names it.
    const refusals = (await history(contactId)).filter((e) => e.type === 'EndContactRejected');
    expect(refusals.map((e) => [e.data['reason'], e.data['agentId']])).toEqual([
      ['InvalidSecurityUser', 'bu-one-leaver'],
    ]);
  });

  it('OnUnauthorized: 403 for an agent without Contacts.End, recorded with its agentId', async () => {
    const contactId = await api.startContact('bu-one', mediaType);
    const answer = await api.endContact(contactId, bu1.viewer);
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ contactId, branch: 'OnUnauthorized', error: { code: 'Unauthorized' } });
    const [, refusal] = await history(contactId);
    expect(refusal).toMatchObject({
      type: 'EndContactRejected',
      data: { reason: 'Unauthorized', agentId: bu1.viewerId, businessUnitId: 'bu-one' },
    });
  });

  it('OnInvalidContactID: 400 malformed, 404 unknown, 404 another business unit (same answer), 409 already ended', async () => {
    const contactId = await api.startContact('bu-one', mediaType);
    const malformed = await api.endContact('12ab', bu1.ender);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({
      contactId: '12ab',
      branch: 'OnInvalidContactID',
      error: { code: 'InvalidContactID' },
    });

    const unknown = await api.endContact('9999999999999999999', bu2.ender);
    const elsewhere = await api.endContact(contactId, bu2.ender);
    expect(unknown.status).toBe(404);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error!.message.replace(contactId, 'ID')).toBe(
      unknown.body.error!.message.replace('9999999999999999999', 'ID'),
    );
    expect((await api.request('GET', `/v1/contacts/${contactId}`)).body).toMatchObject({ state: 'Active' });

    expect((await api.endContact(contactId, bu1.ender)).status).toBe(200);
    const again = await api.endContact(contactId, bu1.ender);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ branch: 'OnInvalidContactID', error: { code: 'InvalidContactID' } });
    expect((await history(contactId)).map((e) => e.type)).toEqual([
      'ContactStarted',
      'EndContactRejected',
      'ContactEnded',
      'EndContactRejected',
    ]);
  });
});

describe('concurrency and idempotency', () => {
  it('25 concurrent EndContact commands on one contact: one OnSuccess, 24 answers 409, one ContactEnded', async () => {
    const contactId = await api.startContact('bu-one', 'Phone');
    const answers = await Promise.all(Array.from({ length: 25 }, () => api.endContact(contactId, bu1.ender)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(24);
    for (const loser of answers.filter((a) => a.status === 409)) expect(loser.body.branch).toBe('OnInvalidContactID');
    const events = await history(contactId);
    expect(events.filter((e) => e.type === 'ContactEnded')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'EndContactRejected')).toHaveLength(24);
  });

  it('the same Idempotency-Key twice: the same answer, one event', async () => {
    const contactId = await api.startContact('bu-one', 'Email');
    const first = await api.endContact(contactId, bu1.ender, { idempotencyKey: `end-${contactId}` });
    const second = await api.endContact(contactId, bu1.ender, { idempotencyKey: `end-${contactId}` });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const events = await history(contactId);
    expect(events.map((e) => e.type)).toEqual(['ContactStarted', 'ContactEnded']);
    expect(events[1]!.metadata['commandId']).toBe(`end-${contactId}`);
  });

  it('the same key sent concurrently still ends the contact once and both answers are OnSuccess', async () => {
    const contactId = await api.startContact('bu-one', 'SMS');
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.endContact(contactId, bu1.ender, { body: { commandId: `burst-${contactId}` } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.endedAt)).size).toBe(1);
    expect((await history(contactId)).filter((e) => e.type === 'ContactEnded')).toHaveLength(1);
  });

  it('a different key after success is refused as not active (409)', async () => {
    const contactId = await api.startContact('bu-one', 'WorkItem');
    expect((await api.endContact(contactId, bu1.ender, { idempotencyKey: 'a' + contactId })).status).toBe(200);
    expect((await api.endContact(contactId, bu1.ender, { idempotencyKey: 'b' + contactId })).status).toBe(409);
  });
});
