/** GET /metrics over HTTP: outcome counters by branch and source, the latency histogram, subscription lag. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

let service: ServiceProcess;
let api: OrchestratorClient;

beforeAll(async () => {
  service = await startServiceProcess();
  api = new OrchestratorClient(service.url, service.platformToken);
});
afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

it('counts EndContact outcomes by branch and source and reports subscription lag', async () => {
  const bu = await api.seedBusinessUnit('metrics-bu');
  const contactId = await api.startContact('metrics-bu', 'Digital');
  expect((await api.endContact(contactId, bu.viewer)).status).toBe(403);
  expect((await api.endContact(contactId, bu.ender)).status).toBe(200);
  expect((await api.endContact(contactId, bu.ender)).status).toBe(409);
  expect((await api.studioAction({ SecurityUser: bu.ender, ContactID: '1' })).status).toBe(200);

  const scrape = await api.request<string>('GET', '/metrics');
  expect(scrape.status).toBe(200);
  expect(scrape.headers.get('content-type')).toContain('text/plain');
  const lines = scrape.body.split('\n');
  expect(lines).toContain('contact_orchestrator_end_contact_total{branch="OnUnauthorized",source="http"} 1');
  expect(lines).toContain('contact_orchestrator_end_contact_total{branch="OnSuccess",source="http"} 1');
  expect(lines).toContain('contact_orchestrator_end_contact_total{branch="OnInvalidContactID",source="http"} 1');
  expect(lines).toContain(
    'contact_orchestrator_end_contact_total{branch="OnInvalidContactID",source="studio-action"} 1',
  );
  expect(lines).toContain('contact_orchestrator_end_contact_seconds_count{source="http"} 3');
  expect(lines).toContain('contact_orchestrator_end_contact_seconds_bucket{le="+Inf",source="http"} 3');
  expect(lines.some((l) => l.startsWith('contact_orchestrator_subscription_lag{subscription="contact-view"} '))).toBe(
    true,
  );
  // Commands do not wait for the views: the lag is 0 once the views have applied the last refusal, a moment later.
  await expect
    .poll(async () => (await api.request<string>('GET', '/metrics')).body.split('\n'), { timeout: 5_000, interval: 50 })
    .toContain('contact_orchestrator_subscription_lag{subscription="contact-view"} 0');
  expect(lines.some((l) => l.startsWith('contact_orchestrator_fanout_state'))).toBe(false);
  // The process metrics: event-loop lag (the bench reads p99), resident memory, CPU, heap, handles.
  for (const name of [
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
    'process_resident_memory_bytes',
    'process_cpu_user_seconds_total',
    'nodejs_heap_size_used_bytes',
    'nodejs_active_handles_total',
  ]) {
    expect(
      lines.some((l) => l.startsWith(`${name} `)),
      name,
    ).toBe(true);
  }
});

it('an idempotent replay is counted as a replay, not as a new OnSuccess', async () => {
  const bu = await api.seedBusinessUnit('metrics-replay-bu');
  const scrapeLines = async () => (await api.request<string>('GET', '/metrics')).body.split('\n');
  const value = (lines: string[], series: string) =>
    Number(lines.find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? 0);
  const success = 'contact_orchestrator_end_contact_total{branch="OnSuccess",source="http"}';
  const replays = 'contact_orchestrator_end_contact_replays_total{source="http"}';
  const before = await scrapeLines();
  const contactId = await api.startContact('metrics-replay-bu', 'Chat');
  const first = await api.endContact(contactId, bu.ender, { idempotencyKey: `replay-${contactId}` });
  expect(first.status).toBe(200);
  for (let i = 0; i < 2; i++)
    expect(await api.endContact(contactId, bu.ender, { idempotencyKey: `replay-${contactId}` })).toMatchObject({
      status: 200,
      body: first.body,
    });
  const after = await scrapeLines();
  expect(value(after, success) - value(before, success)).toBe(1);
  expect(value(after, replays) - value(before, replays)).toBe(2);
});
