/**
 * The 401/405/503 rules of docs/design.md, HTTP on every endpoint, over HTTP against the real service: a request without its
 * credential is 401 with `WWW-Authenticate: Bearer` whatever else is wrong with it; a method a known path does not
 * have is 405 with `Allow`; with the store held locked past STORE_TIMEOUT_MS by another process, every endpoint
 * answers, writes are 503 with a body and nothing is ever 500. The document lists what each operation answers.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { holdWriteLock } from './harness/lock-holder.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

let service: ServiceProcess;
let api: OrchestratorClient;
let ender: string;
let contactId: string;

beforeAll(async () => {
  service = await startServiceProcess({ env: { STORE_TIMEOUT_MS: '400', LOG_LEVEL: 'warn' } });
  api = new OrchestratorClient(service.url, service.platformToken);
  ({ ender } = await api.seedBusinessUnit('bu-contract'));
  contactId = await api.startContact('bu-contract', 'Chat');
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

type Call = { method: string; path: string; body?: unknown; headers?: Record<string, string> };

/** Every protected route, each with a body that is also wrong: the credential is checked first. */
const protectedRoutes = (): Call[] => [
  { method: 'PUT', path: '/v1/security-profiles/p1', body: { colour: 'blue' } },
  { method: 'PUT', path: '/v1/agents/a1', body: { active: 'yes' } },
  { method: 'POST', path: '/v1/security-users', body: { agentId: 7 } },
  { method: 'POST', path: '/v1/contacts', body: { mediaType: 'Fax' } },
  { method: 'POST', path: `/v1/contacts/${contactId}/end`, body: { reason: 'x' }, headers: { 'idempotency-key': '' } },
  { method: 'POST', path: `/v1/contacts/${contactId}/end`, headers: { 'idempotency-key': 'not ascii é' } },
  { method: 'POST', path: '/v1/contacts/12a/end' },
  { method: 'GET', path: '/v1/contacts?limit=0' },
  { method: 'GET', path: `/v1/contacts/${contactId}` },
  { method: 'GET', path: '/v1/contacts/12a/history' },
  { method: 'GET', path: '/v1/contacts/stream' },
];

describe('a request without its credential', () => {
  it('is 401 with WWW-Authenticate: Bearer on every protected route, before any check of the rest', async () => {
    for (const call of protectedRoutes()) {
      const answer = await api.request(call.method, call.path, {
        token: null,
        ...(call.body !== undefined ? { body: call.body } : {}),
        headers: call.headers ?? {},
      });
      expect(answer.status, `${call.method} ${call.path}: ${JSON.stringify(answer.body)}`).toBe(401);
      expect(answer.headers.get('www-authenticate'), `${call.method} ${call.path}`).toBe('Bearer');
      expect(typeof answer.body, `${call.method} ${call.path}`).toBe('object');
      if (call.path.endsWith('/end'))
        expect(answer.body).toMatchObject({ branch: 'OnInvalidSecurityUser', error: { code: 'InvalidSecurityUser' } });
    }
    expect(await contactState()).toBe('Active');
  });
});

describe('a method a known path does not have', () => {
  it.each([
    ['TRACE', '/health', 'GET, HEAD'],
    ['TRACE', '/metrics', 'GET, HEAD'],
    ['DELETE', '/health', 'GET, HEAD'],
    ['OPTIONS', '/metrics', 'GET, HEAD'],
    ['GET', '/v1/security-users', 'POST'],
    ['DELETE', '/v1/agents/a1', 'PUT'],
    ['PATCH', '/v1/security-profiles/p1', 'PUT'],
    ['PUT', '/v1/contacts', 'GET, HEAD, POST'],
    ['DELETE', '/v1/contacts/5000123', 'GET, HEAD'],
    ['GET', '/v1/contacts/5000123/end', 'POST'],
    ['POST', '/v1/contacts/5000123/history', 'GET, HEAD'],
    ['GET', '/v1/actions/end-a-contact', 'POST'],
  ])('%s %s → 405 with Allow: %s', async (method, path, allow) => {
    const answer = await raw(method, path);
    expect(answer.status, answer.body).toBe(405);
    expect(answer.allow).toBe(allow);
    expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 405, error: 'Method Not Allowed' });
  });

  it('an unknown path is still 404', async () => {
    expect((await raw('TRACE', '/nowhere')).status).toBe(404);
    expect((await raw('GET', '/v1/nowhere')).status).toBe(404);
  });
});

describe('the event store locked by another process past STORE_TIMEOUT_MS', () => {
  it('every endpoint answers with a body, never 500; every write is 503 with nothing written', async () => {
    const fresh = await api.startContact('bu-contract', 'Email');
    const head = await api.request<{ items: unknown[] }>('GET', '/v1/contacts?limit=1000');
    const lock = await holdWriteLock(join(service.dataDir, 'events.db'), 6_000);
    const calls: Array<Call & { token?: string | null; writes: boolean }> = [
      { method: 'PUT', path: '/v1/security-profiles/locked', body: { name: 'L', permissions: [] }, writes: true },
      {
        method: 'PUT',
        path: '/v1/agents/locked',
        body: { businessUnitId: 'bu-contract', securityProfileId: 'ender', active: true },
        writes: true,
      },
      {
        method: 'POST',
        path: '/v1/contacts',
        body: { businessUnitId: 'bu-contract', mediaType: 'Chat' },
        writes: true,
      },
      { method: 'POST', path: `/v1/contacts/${fresh}/end`, token: ender, writes: true },
      { method: 'POST', path: '/v1/security-users', body: { agentId: 'bu-contract-ender' }, writes: false },
      {
        method: 'POST',
        path: '/v1/actions/end-a-contact',
        body: { ContactID: fresh, SecurityUser: ender },
        token: null,
        writes: false,
      },
      { method: 'GET', path: '/v1/contacts', writes: false },
      { method: 'GET', path: `/v1/contacts/${fresh}`, writes: false },
      { method: 'GET', path: `/v1/contacts/${fresh}/history`, writes: false },
      { method: 'GET', path: '/health', token: null, writes: false },
      { method: 'GET', path: '/metrics', token: null, writes: false },
      { method: 'GET', path: '/docs-json', token: null, writes: false },
    ];
    for (const call of calls) {
      const answer = await api.request(call.method, call.path, {
        ...(call.token !== undefined ? { token: call.token } : {}),
        ...(call.body !== undefined ? { body: call.body } : {}),
      });
      const what = `${call.method} ${call.path}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
      expect(answer.status, what).not.toBe(500);
      expect(String(answer.body).length + JSON.stringify(answer.body).length, what).toBeGreaterThan(2);
      if (call.writes) {
        expect(answer.status, what).toBe(503);
        if (call.path.endsWith('/end'))
          expect(answer.body, what).toMatchObject({
            contactId: fresh,
            branch: 'Default',
            error: { code: 'StoreUnavailable' },
          });
        else
          expect(answer.body, what).toMatchObject({
            statusCode: 503,
            error: 'Service Unavailable',
            message: expect.stringContaining('STORE_TIMEOUT_MS'),
          });
      } else if (call.path === '/v1/actions/end-a-contact') {
        expect(answer.body, what).toMatchObject({ branch: 'Default', error: { code: 'StoreUnavailable' } });
      } else {
        expect(answer.status, what).toBeLessThan(300);
      }
    }
    await lock.released;
    // Nothing of the refused writes reached the log or the view.
    expect((await api.request<{ items: unknown[] }>('GET', '/v1/contacts?limit=1000')).body.items).toHaveLength(
      head.body.items.length,
    );
    expect((await api.request('GET', `/v1/contacts/${fresh}`)).body).toMatchObject({ state: 'Active' });
    expect(
      (
        await api.request('PUT', '/v1/agents/locked', {
          body: { businessUnitId: 'bu-contract', securityProfileId: 'ender', active: true },
        })
      ).status,
    ).toBe(200);
  });
});

describe('the OpenAPI document', () => {
  it('lists for every operation its answers with a body schema, both bearer schemes, and the links of the stateful flow', async () => {
    const doc = (await api.request<OpenApi>('GET', '/docs-json', { token: null })).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['metrics', 'platform', 'securityUser']);
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ label: `${method.toUpperCase()} ${path}`, op })),
    );
    for (const { label, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.content, `${label} ${status}`).toBeDefined();
      }
      // A credential the operation requires can be missing: 401. Where `{}` is listed one is optional (/health, and
      // /metrics without METRICS_TOKEN), and /health never answers 401.
      const optional = op.security?.some((requirement) => Object.keys(requirement).length === 0) ?? false;
      if (op.security && !optional) expect(Object.keys(op.responses), label).toContain('401');
      for (const parameter of op.parameters ?? []) {
        if (parameter.in === 'query' && ['state', 'mediaType'].includes(parameter.name))
          expect(parameter.schema.enum, `${label} ${parameter.name}`).toBeDefined();
        else expect(parameter.schema.pattern, `${label} ${parameter.name}`).toBeDefined();
      }
    }
    const end = doc.paths['/v1/contacts/{contactId}/end']!['post']!;
    expect(end.security).toEqual([{ securityUser: [] }]);
    // 408, 413, 415 and 429 are the HTTP limits' answers (docs/security.md), in the end command's own body.
    expect(Object.keys(end.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '408',
      '409',
      '413',
      '415',
      '429',
      '503',
    ]);
    expect((end.responses['429'] as { headers?: object }).headers).toHaveProperty('Retry-After');
    expect(Object.keys(doc.paths['/health']!['get']!.responses)).not.toContain('429');
    expect(Object.keys(doc.paths['/health']!['get']!.responses)).not.toContain('401');
    // This service runs without METRICS_TOKEN: /metrics takes either token, or none.
    expect(doc.paths['/metrics']!['get']!.security).toEqual([{ metrics: [] }, { platform: [] }, {}]);
    expect(doc.paths['/v1/contacts/{contactId}']!['get']!.security).toEqual([{ platform: [] }, { securityUser: [] }]);
    const examples = (path: string, method: string, status: string) =>
      Object.keys(
        (doc.paths[path]![method]!.responses[status]!.content as Record<string, { examples?: object }>)[
          'application/json'
        ]!.examples ?? {},
      );
    expect(
      ['200', '401', '403', '404', '503'].flatMap((status) => examples('/v1/contacts/{contactId}/end', 'post', status)),
    ).toEqual(['OnSuccess', 'OnInvalidSecurityUser', 'OnUnauthorized', 'OnInvalidContactID', 'Default']);
    expect(examples('/v1/actions/end-a-contact', 'post', '200').sort()).toEqual([
      'OnInvalidContactID',
      'OnInvalidSecurityUser',
      'OnSuccess',
      'OnUnauthorized',
    ]);
    expect(doc.paths['/v1/security-users']!['post']!.responses['201']!.links).toHaveProperty('StartContact');
    expect(doc.paths['/v1/contacts']!['post']!.responses['201']!.links).toHaveProperty('EndContact');
  });
});

type OpenApi = {
  openapi: string;
  components: { securitySchemes: Record<string, unknown> };
  paths: Record<
    string,
    Record<
      string,
      {
        security?: Array<Record<string, unknown>>;
        parameters?: Array<{ name: string; in: string; schema: { pattern?: string; enum?: unknown[] } }>;
        responses: Record<
          string,
          { content?: unknown; links?: Record<string, unknown>; headers?: Record<string, unknown> }
        >;
      }
    >
  >;
};

/** Any method, TRACE included (fetch refuses to send it), with the platform token. */
function raw(method: string, path: string): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${service.url}${path}`,
      { method, headers: { authorization: `Bearer ${service.platformToken}` } },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, allow: response.headers['allow'], body }));
      },
    );
    request.on('error', reject).end();
  });
}

async function contactState(): Promise<string> {
  return (await api.request<{ state: string }>('GET', `/v1/contacts/${contactId}`)).body.state;
}
