/**
 * The request log: every HTTP request leaves exactly one line with method, route pattern, status, duration and
 * correlation ID (X-Correlation-Id, else a new request ID that the command records), and no credential.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

type RequestLine = {
  method?: string;
  route?: string;
  status?: number;
  durationMs?: number;
  correlationId?: string;
  msg?: string;
};

describe('request log', () => {
  let service: ServiceProcess;
  let client: OrchestratorClient;
  beforeAll(async () => {
    service = await startServiceProcess();
    client = new OrchestratorClient(service.url, service.platformToken);
  });
  afterAll(async () => {
    await service.stop();
    removeDataDir(service.dataDir);
  });

  const requestLines = (): RequestLine[] =>
    service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as RequestLine)
      .filter((line) => line.route !== undefined);

  it('one line per request, with method, route, status, duration and correlation ID, and no token', async () => {
    const forged = 'forged.security-user.token-9f3c';
    const readAnswer = await client.request('GET', '/v1/contacts/c-log-1', {
      headers: { 'x-correlation-id': 'corr-log-1' },
    });
    const endAnswer = await client.request('POST', '/v1/contacts/c-log-1/end', {
      body: { securityUser: forged },
      headers: { 'x-correlation-id': 'corr-log-2' },
    });
    await client.request('GET', '/no-such-route', {
      token: 'wrong-token-c0ffee',
      headers: { 'x-correlation-id': 'corr-log-3' },
    });
    await client.request('GET', '/metrics');
    await expect.poll(() => requestLines().length, { timeout: 5_000 }).toBe(4);

    const [read, end, unknown, metrics] = requestLines();
    expect(read).toMatchObject({
      method: 'GET',
      route: '/v1/contacts/:contactId',
      status: readAnswer.status,
      correlationId: 'corr-log-1',
    });
    expect(end).toMatchObject({
      method: 'POST',
      route: '/v1/contacts/:contactId/end',
      status: endAnswer.status,
      correlationId: 'corr-log-2',
    });
    expect(unknown).toMatchObject({ method: 'GET', route: 'unmatched', status: 404, correlationId: 'corr-log-3' });
    expect(metrics).toMatchObject({ method: 'GET', route: '/metrics', status: 200 });
    expect(metrics!.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    for (const line of requestLines()) expect(line.durationMs).toBeTypeOf('number');
    for (const secret of [service.platformToken, forged, 'wrong-token-c0ffee'])
      expect(service.output()).not.toContain(secret);
  });
});
