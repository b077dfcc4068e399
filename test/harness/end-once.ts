/**
 * The one scenario every event store must pass through the whole service: a contact started in a fresh business unit,
 * ten concurrent ends by its ender, exactly one 200 and nine 409, the view Ended, one ContactEnded in its history.
 */
import { expect } from 'vitest';
import type { OrchestratorClient } from './client.js';

type SeededBusinessUnit = Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;

export async function endsOnceUnderConcurrency(
  api: OrchestratorClient,
  prefix: string,
): Promise<{ bu: SeededBusinessUnit; contactId: string }> {
  const businessUnitId = `${prefix}-${Date.now()}`;
  const bu = await api.seedBusinessUnit(businessUnitId);
  const contactId = await api.startContact(businessUnitId, 'Chat');
  const answers = await Promise.all(Array.from({ length: 10 }, () => api.endContact(contactId, bu.ender)));
  expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
  expect(answers.filter((a) => a.status === 409)).toHaveLength(9);
  const view = await api.request('GET', `/v1/contacts/${contactId}`);
  expect(view.body).toMatchObject({ state: 'Ended' });
  const history = await api.request<{ events: Array<{ type: string }> }>('GET', `/v1/contacts/${contactId}/history`);
  expect(history.body.events.filter((e) => e.type === 'ContactEnded')).toHaveLength(1);
  return { bu, contactId };
}
