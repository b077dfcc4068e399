/**
 * /metrics and /health for whoever may read them (docs/security.md), over HTTP against the real service: with
 * METRICS_TOKEN set, /metrics needs it or the platform token (else 401 with `WWW-Authenticate: Bearer`); /health
 * tells a caller without either its status alone, and the full report to one with either. Without METRICS_TOKEN,
 * /metrics stays open. The OpenAPI document says the same.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

type Health = {
  status: string;
  info?: object;
  error?: object;
  details?: Record<string, { status: string; head?: string; checkpoint?: string }>;
};
type OpenApi = {
  components: { securitySchemes: Record<string, unknown> };
  paths: Record<
    string,
    Record<string, { security?: Array<Record<string, unknown>>; responses: Record<string, unknown> }>
  >;
};

const token = (): string => randomBytes(24).toString('base64url');

describe('a service started with METRICS_TOKEN', () => {
  const metricsToken = token();
  let service: ServiceProcess;
  let api: OrchestratorClient;

  beforeAll(async () => {
    service = await startServiceProcess({ env: { METRICS_TOKEN: metricsToken, LOG_LEVEL: 'warn' } });
    api = new OrchestratorClient(service.url, service.platformToken);
    // Something for the report and the counters to show.
    const bu = await api.seedBusinessUnit('bu-operator');
    expect((await api.endContact(await api.startContact('bu-operator', 'Chat'), bu.ender)).status).toBe(200);
  });
  afterAll(async () => {
    await service?.stop();
    if (service) removeDataDir(service.dataDir);
  });

  it('GET /metrics without a credential, or with one that is neither token, is 401 with WWW-Authenticate: Bearer and no metric', async () => {
    const { ender } = await api.seedBusinessUnit('bu-operator-2');
    for (const [what, credential] of [
      ['no credential', null],
      ['a wrong token', token()],
      ['a SecurityUser', ender],
      ['half of METRICS_TOKEN', metricsToken.slice(0, 16)],
    ] as const) {
      const answer = await api.request('GET', '/metrics', { token: credential });
      expect(answer.status, what).toBe(401);
      expect(answer.headers.get('www-authenticate'), what).toBe('Bearer');
      expect(answer.body, what).toMatchObject({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.stringContaining('METRICS_TOKEN'),
      });
      expect(JSON.stringify(answer.body), what).not.toMatch(/contact_orchestrator|nodejs_/);
    }
  });

  it('GET /metrics with METRICS_TOKEN or the platform token is 200 Prometheus text', async () => {
    for (const [what, credential] of [
      ['METRICS_TOKEN', metricsToken],
      ['the platform token', service.platformToken],
    ] as const) {
      const answer = await api.request<string>('GET', '/metrics', { token: credential });
      expect(answer.status, what).toBe(200);
      expect(answer.headers.get('content-type'), what).toContain('text/plain');
      const lines = answer.body.split('\n');
      expect(lines, what).toContain('contact_orchestrator_end_contact_total{branch="OnSuccess",source="http"} 1');
      expect(
        lines.some((l) => l.startsWith('nodejs_eventloop_lag_p99_seconds ')),
        what,
      ).toBe(true);
    }
  });

  it('GET /health without a credential, or with a token that is neither, is exactly {status: "ok"}: no details, no log head', async () => {
    for (const [what, credential] of [
      ['no credential', null],
      ['a wrong token', token()],
      ['a malformed header', 'x y'],
    ] as const) {
      const answer = await api.request<Health>('GET', '/health', { token: credential });
      expect(answer.status, what).toBe(200);
      expect(answer.body, what).toEqual({ status: 'ok' });
    }
  });

  it('GET /health with METRICS_TOKEN or the platform token is the full report: each check, the log head and checkpoints', async () => {
    for (const [what, credential] of [
      ['METRICS_TOKEN', metricsToken],
      ['the platform token', service.platformToken],
    ] as const) {
      const answer = await api.request<Health>('GET', '/health', { token: credential });
      expect(answer.status, what).toBe(200);
      expect(answer.body.status, what).toBe('ok');
      expect(answer.body.info, what).toBeDefined();
      expect(answer.body.details?.['eventStore'], what).toEqual({ status: 'up' });
      expect(answer.body.details?.['contact-view'], what).toMatchObject({
        status: 'up',
        head: expect.stringMatching(/^\d+$/),
        checkpoint: expect.stringMatching(/^\d+$/),
      });
      expect(answer.body.details?.['fanout'], what).toMatchObject({ state: 'disabled' });
    }
  });

  it('the OpenAPI document: /metrics asks for METRICS_TOKEN or the platform token and lists its 401; /health takes either, or none', async () => {
    const doc = (await api.request<OpenApi>('GET', '/docs-json', { token: null })).body;
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['metrics', 'platform', 'securityUser']);
    const metrics = doc.paths['/metrics']!['get']!;
    expect(metrics.security).toEqual([{ metrics: [] }, { platform: [] }]);
    expect(Object.keys(metrics.responses)).toContain('401');
    expect(doc.paths['/health']!['get']!.security).toEqual(
      expect.arrayContaining([{ metrics: [] }, { platform: [] }, {}]),
    );
  });
});

describe('a service started without METRICS_TOKEN', () => {
  let service: ServiceProcess;
  let api: OrchestratorClient;

  beforeAll(async () => {
    service = await startServiceProcess({ env: { LOG_LEVEL: 'warn' } });
    api = new OrchestratorClient(service.url, service.platformToken);
  });
  afterAll(async () => {
    await service?.stop();
    if (service) removeDataDir(service.dataDir);
  });

  it('GET /metrics is open, as before: 200 without a credential and with the platform token', async () => {
    for (const credential of [null, service.platformToken]) {
      const answer = await api.request<string>('GET', '/metrics', { token: credential });
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('nodejs_eventloop_lag_p99_seconds ');
    }
    const doc = (await api.request<OpenApi>('GET', '/docs-json', { token: null })).body;
    // The document says a credential is optional there: {} is "none".
    expect(doc.paths['/metrics']!['get']!.security).toEqual([{ metrics: [] }, { platform: [] }, {}]);
  });

  it('GET /health without a credential is still its status alone; with the platform token the full report', async () => {
    expect((await api.request<Health>('GET', '/health', { token: null })).body).toEqual({ status: 'ok' });
    expect((await api.request<Health>('GET', '/health')).body.details?.['contact-view']).toMatchObject({
      status: 'up',
    });
  });
});
