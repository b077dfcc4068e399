/**
 * Another process holds a write transaction on events.db, then on the views (views.v5.db), while a write is in flight: the
 * service keeps answering (health and the API document within 500 ms), a lock held past STORE_TIMEOUT_MS gets 503
 * with nothing written (then or after the release: docs/decisions.md, Storage), and after the release writes succeed
 * and the log holds exactly what was answered.
 */
import Database from 'better-sqlite3';
import { basename, join } from 'node:path';
import { viewsFileIn } from '#projections';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { OrchestratorClient } from './harness/client.js';
import { serviceForFile } from './harness/file-service.js';
import { holdWriteLock } from './harness/lock-holder.js';
import { waitFor } from './harness/suites.js';
import { caughtUp } from './harness/views.js';
import type { ServiceProcess } from './harness/service.js';
import { sendRequest, unreadOnPort } from './harness/sockets.js';

const STORE_TIMEOUT_MS = 1_500;

const suite = serviceForFile('bu-locks', { env: { STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS) } });
let service: ServiceProcess;
let api: OrchestratorClient;
let ender: string;

beforeAll(() => {
  ({ service, client: api } = suite);
  ({ ender } = suite.bu);
});

async function timed(path: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const answer = await api.request('GET', path, { token: null });
  return { status: answer.status, ms: performance.now() - started };
}

function endedInLog(contactId: string): number {
  const db = new Database(join(service.dataDir, 'events.db'), { readonly: true });
  try {
    return (
      db
        .prepare(`SELECT COUNT(*) AS n FROM events WHERE stream_id = ? AND type = 'ContactEnded'`)
        .get(`contact-${contactId}`) as { n: number }
    ).n;
  } finally {
    db.close();
  }
}

describe.each(['events.db', basename(viewsFileIn('.'))])('another process holds a write lock on %s', (file) => {
  it('health and the API document answer within 500 ms while a write waits; the write past STORE_TIMEOUT_MS is 503, nothing half-written; after release writes succeed', async () => {
    const contactId = await api.startContact('bu-locks', 'Chat');
    const lock = await holdWriteLock(join(service.dataDir, file));
    const lockedAt = performance.now();
    let answeredAt = Number.POSITIVE_INFINITY;
    const sent = sendRequest(service.url, 'POST', `/v1/contacts/${contactId}/end`, {
      authorization: `Bearer ${ender}`,
    });
    const inFlight = sent.answer.finally(() => (answeredAt = performance.now()));
    await sent.written;
    // The service has read the request: the write is in flight there.
    await vi.waitFor(() => expect(unreadOnPort(Number(new URL(service.url).port)).unreadBytes).toBe(0), {
      timeout: 10_000,
      interval: 20,
    });
    for (const path of ['/health', '/docs-json', '/health']) {
      const { status, ms } = await timed(path);
      expect(status, path).toBeLessThan(600);
      expect(ms, `${path} took ${ms.toFixed(0)} ms`).toBeLessThan(500);
    }
    const answered = await inFlight;
    const answer = { status: answered.status, body: JSON.parse(answered.body) as Record<string, unknown> };
    if (file === 'events.db') {
      // The append waited STORE_TIMEOUT_MS for the lock (still held), then gave up with nothing written.
      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      expect(answer.body).toMatchObject({ contactId, branch: 'Default', error: { code: 'StoreUnavailable' } });
      expect(answeredAt - lockedAt).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS - 100);
      expect(endedInLog(contactId)).toBe(0);
    } else {
      // The log is free: the end is recorded and answered while the lock is still held; only the view waits for it.
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      // (Before commands stopped waiting for the views, this answer came after a 2 s wait for them.)
      expect(answeredAt - lockedAt).toBeLessThan(1_000);
      expect(endedInLog(contactId)).toBe(1);
    }
    await lock.release();
    const retry = await api.endContact(contactId, ender);
    if (file === 'events.db') expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    else expect(retry.status).toBe(409);
    expect(endedInLog(contactId)).toBe(1);
    const view = await api.request<{ state: string }>('GET', `/v1/contacts/${contactId}`);
    expect(view.body.state).toBe('Ended');
  });
});

it('a lock held well past STORE_TIMEOUT_MS: every end answered 503 wrote nothing, then or after the release; the contacts stay Active and their ends answer 200 once the lock frees', async () => {
  const contacts = await Promise.all(Array.from({ length: 6 }, () => api.startContact('bu-locks', 'Chat')));
  const lock = await holdWriteLock(join(service.dataDir, 'events.db'));
  // Half keyed, half not: a keyed retry must not replay a 503, an unkeyed one must not find its own end written.
  const key = (i: number): { idempotencyKey?: string } =>
    i % 2 === 0 ? { idempotencyKey: `locked-end-${contacts[i]}` } : {};
  const answers = await Promise.all(contacts.map((contactId, i) => api.endContact(contactId, ender, key(i))));
  for (const [i, answer] of answers.entries()) {
    expect(answer.status, JSON.stringify(answer.body)).toBe(503);
    expect(answer.body).toMatchObject({
      contactId: contacts[i],
      branch: 'Default',
      error: { code: 'StoreUnavailable' },
    });
  }
  await lock.release();
  // The writer's queue is first in, first out: once a later append is answered, an end still queued would be written.
  const barrier = await waitFor(
    async () =>
      (await api.request('POST', '/v1/contacts', { body: { businessUnitId: 'bu-locks', mediaType: 'SMS' } })).status ===
      201,
    10_000,
    'a start after the release',
  );
  expect(barrier).toBe(true);
  for (const contactId of contacts) {
    expect(endedInLog(contactId), `contact ${contactId}: ContactEnded in the log after a 503`).toBe(0);
    const view = await api.request<{ state: string }>('GET', `/v1/contacts/${contactId}`);
    expect(view.body.state).toBe('Active');
  }
  const retries = await Promise.all(contacts.map((contactId, i) => api.endContact(contactId, ender, key(i))));
  for (const [i, retry] of retries.entries()) {
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body).toMatchObject({ contactId: contacts[i], branch: 'OnSuccess' });
    expect(endedInLog(contacts[i]!)).toBe(1);
  }
});

it('a write that waits less than STORE_TIMEOUT_MS for the lock on events.db is recorded once the lock is released', async () => {
  const contactId = await api.startContact('bu-locks', 'SMS');
  const lock = await holdWriteLock(join(service.dataDir, 'events.db'));
  const sent = sendRequest(service.url, 'POST', `/v1/contacts/${contactId}/end`, { authorization: `Bearer ${ender}` });
  await sent.written;
  // Released once the service has read the request (the write waits on the lock), well within STORE_TIMEOUT_MS.
  await vi.waitFor(() => expect(unreadOnPort(Number(new URL(service.url).port)).unreadBytes).toBe(0), {
    timeout: 10_000,
    interval: 20,
  });
  await lock.release();
  const answer = await sent.answer;
  expect(answer.status, answer.body).toBe(200);
  expect(endedInLog(contactId)).toBe(1);
});

it('a read of the views while another process holds their write lock answers at once (WAL readers take no lock)', async () => {
  const contactId = await api.startContact('bu-locks', 'Email');
  // Views that already show the log: the read has nothing to wait for (a read waits for the views to reach the head).
  await caughtUp(api);
  const lock = await holdWriteLock(viewsFileIn(service.dataDir));
  const started = performance.now();
  const view = await api.request<{ state: string }>('GET', `/v1/contacts/${contactId}`);
  expect(view.status).toBe(200);
  expect(performance.now() - started).toBeLessThan(500);
  await lock.release();
});

it('a read after an answered end shows it while the views are held behind by a lock: the read waits for them (bounded), the end did not', async () => {
  const contactId = await api.startContact('bu-locks', 'Phone');
  await caughtUp(api);
  const lock = await holdWriteLock(viewsFileIn(service.dataDir), 400);
  const end = await api.endContact(contactId, ender);
  expect(end.status, JSON.stringify(end.body)).toBe(200);
  const view = await api.request<{ state: string }>('GET', `/v1/contacts/${contactId}`);
  expect(view.body.state).toBe('Ended');
  await lock.released;
});
