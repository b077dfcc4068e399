/**
 * What one client can hold or ask of the service (docs/security.md): each finding of the review
 * reproduced over real sockets against the running service, with the limits made small so that the test is short.
 */
import Database from 'better-sqlite3';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { serviceForFile } from './harness/file-service.js';
import { removeDataDir, startServiceProcess } from './harness/service.js';

const REQUEST_TIMEOUT_MS = 1_500;
const KEEP_ALIVE_TIMEOUT_MS = 1_000;
const RATE_LIMIT = 30;
const STREAMS = 2;

const suite = serviceForFile('bu-limits', {
  env: {
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    HTTP_MAX_CONNECTIONS: '100',
    // The slow-client sockets would otherwise be refused by the rate limit (it counts requests at their headers).
    RATE_LIMIT_PER_MINUTE: '0',
    SSE_STREAMS_PER_CREDENTIAL: String(STREAMS),
  },
});

/** A raw socket to the service, with when it was closed by the other side. */
function open(
  to = Number(new URL(suite.service.url).port),
  localAddress?: string,
): Promise<{ socket: Socket; closed: Promise<number>; received: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port: to, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    const closed = new Promise<number>((done) => socket.once('close', () => done(performance.now())));
    socket.once('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed, received: () => data }));
    socket.once('error', reject);
  });
}

function contactState(contactId: string): string | undefined {
  const db = new Database(join(suite.service.dataDir, 'events.db'), { readonly: true });
  try {
    const ended = db
      .prepare(`SELECT COUNT(*) AS n FROM events WHERE stream_id = ? AND type = 'ContactEnded'`)
      .get(`contact-${contactId}`) as { n: number };
    return ended.n > 0 ? 'Ended' : 'Active';
  } finally {
    db.close();
  }
}

describe('M1: slow clients', () => {
  it('60 sockets that send part of a body and then sit idle are closed within the request timeout, with a 408; the service answers as before', async () => {
    const sockets = await Promise.all(Array.from({ length: 60 }, () => open()));
    const sentAt = performance.now();
    for (const { socket } of sockets) {
      socket.write(
        `POST /v1/actions/end-a-contact HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n`,
      );
      socket.write(`{"SecurityUser":"${'x'.repeat(30_000)}`);
    }
    const closedAt = await Promise.all(sockets.map((s) => s.closed));
    const slowest = Math.max(...closedAt) - sentAt;
    // Node checks request timeouts at an interval (a quarter of the timeout here): allow that and some scheduling.
    expect(slowest).toBeLessThan(REQUEST_TIMEOUT_MS * 2 + 1_000);
    expect(sockets.filter((s) => s.received().startsWith('HTTP/1.1 408')).length).toBe(60);
    // Closed is what bounds their memory; a memory figure would belong in bench/, not a threshold in a test.
    expect((await suite.client.request('GET', '/health')).status).toBe(200);
  });

  it('a body announced larger than the route accepts is refused with 413 before it is read', async () => {
    const { socket, closed, received } = await open();
    socket.write(
      `POST /v1/actions/end-a-contact HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{`,
    );
    await expect.poll(received, { timeout: 2_000 }).toMatch(/^HTTP\/1\.1 413/);
    socket.destroy();
    await closed;
  });

  it('a kept-alive socket with nothing in progress is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const { socket, closed, received } = await open();
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(received, { timeout: 2_000 }).toMatch(/^HTTP\/1\.1 200/);
    const answeredAt = performance.now();
    expect((await closed) - answeredAt).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + 1_000);
  });

  it('sockets past HTTP_MAX_CONNECTIONS are closed at once, and the service answers again when they go', async () => {
    const held = await Promise.all(Array.from({ length: 100 }, () => open()));
    const extra = await open();
    const refusedAt = performance.now();
    expect((await extra.closed) - refusedAt).toBeLessThan(1_000);
    expect(extra.received()).toBe('');
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    await expect
      .poll(async () => (await suite.client.request('GET', '/health', { token: null })).status, { timeout: 5_000 })
      .toBe(200);
  });
});

describe('connections per client address', () => {
  it('one address holding HTTP_MAX_CONNECTIONS_PER_ADDRESS idle sockets: its next is closed at once, another address is still answered', async () => {
    const capped = await startServiceProcess({
      env: { HTTP_MAX_CONNECTIONS_PER_ADDRESS: '5', RATE_LIMIT_PER_MINUTE: '0' },
    });
    const cappedPort = Number(new URL(capped.url).port);
    try {
      const held = await Promise.all(Array.from({ length: 5 }, () => open(cappedPort, '127.0.0.1')));
      const extra = await open(cappedPort, '127.0.0.1');
      await extra.closed;
      expect(extra.received()).toBe('');
      // 127.0.0.2 is another client on the loopback network: it has places of its own.
      const other = await open(cappedPort, '127.0.0.2');
      other.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await other.closed;
      expect(other.received()).toMatch(/^HTTP\/1\.1 200/);
      for (const { socket } of held) socket.destroy();
      await Promise.all(held.map((h) => h.closed));
      // The places come back once the server has seen those sockets close (a moment after this side has).
      await vi.waitFor(
        async () => {
          const again = await open(cappedPort, '127.0.0.1');
          again.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
          await again.closed;
          expect(again.received()).toMatch(/^HTTP\/1\.1 200/);
        },
        { timeout: 5_000, interval: 50 },
      );
    } finally {
      await capped.stop();
      removeDataDir(capped.dataDir);
    }
  });
});

describe('L2/L3: JSON only, per-route body limits, a maximum depth', () => {
  it('a form POST to the Studio action from another origin is refused with 415 and ends nothing', async () => {
    const contactId = await suite.client.startContact('bu-limits', 'Chat');
    const answer = await suite.client.request('POST', '/v1/actions/end-a-contact', {
      token: null,
      rawBody: new URLSearchParams({ SecurityUser: suite.bu.ender, ContactID: contactId }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://attacker.example' },
    });
    expect(answer.status).toBe(415);
    expect(answer.body).toMatchObject({ field: 'content-type' });
    expect(contactState(contactId)).toBe('Active');
  });

  it('the end command takes 16 KB at most; the Studio action 64 KB', async () => {
    const contactId = await suite.client.startContact('bu-limits', 'Chat');
    const end = await suite.client.request('POST', `/v1/contacts/${contactId}/end`, {
      token: suite.bu.ender,
      body: { commandId: 'c'.repeat(20_000) },
    });
    expect(end.status).toBe(413);
    expect(end.body).toMatchObject({
      branch: 'Default',
      error: { field: 'body', message: expect.stringContaining('16384') },
    });
    expect(contactState(contactId)).toBe('Active');
    const variables = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`v${i}`, 'x'.repeat(100)]));
    const studio = await suite.client.studioAction({ SecurityUser: suite.bu.ender, ContactID: contactId, variables });
    expect(studio.status).toBe(200);
    expect(studio.body.branch).toBe('OnSuccess');
    const tooLarge = await suite.client.studioAction({
      SecurityUser: suite.bu.ender,
      ContactID: contactId,
      variables: { big: 'x'.repeat(70_000) },
    });
    expect(tooLarge.status).toBe(413);
  });

  it('JSON nested deeper than HTTP_MAX_JSON_DEPTH (8) is refused with 400 naming the body; brackets inside strings do not count', async () => {
    const contactId = await suite.client.startContact('bu-limits', 'Chat');
    const deep = `${'{"a":'.repeat(50)}1${'}'.repeat(50)}`;
    const answer = await suite.client.request('POST', `/v1/contacts/${contactId}/end`, {
      token: suite.bu.ender,
      rawBody: deep,
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { field: 'body', message: expect.stringContaining('deeper than 8') } });
    const bracketsInAString = await suite.client.studioAction({
      SecurityUser: suite.bu.ender,
      ContactID: contactId,
      variables: { note: `${'[{'.repeat(40)}"` },
    });
    expect(bracketsInAString.status).toBe(200);
    expect(bracketsInAString.body.branch).toBe('OnSuccess');
  });
});

describe('L4: rate limits and event streams', () => {
  it(`past ${RATE_LIMIT} requests a minute one agent gets 429 with Retry-After; another agent, another address's anonymous calls and /health still answer`, async () => {
    const limitedService = await startServiceProcess({ env: { RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) } });
    try {
      const api = new OrchestratorClient(limitedService.url, limitedService.platformToken);
      const unit = await api.seedBusinessUnit('bu-rate');
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<OrchestratorClient['request']>> | undefined;
      for (let i = 0; i < RATE_LIMIT + 5 && !limited; i++) {
        const answer = await api.request('GET', '/v1/contacts?limit=1', { token: unit.viewer });
        statuses.push(answer.status);
        if (answer.status === 429) limited = answer;
      }
      expect(limited, `statuses: ${statuses.join(',')}`).toBeDefined();
      expect(statuses.length).toBe(RATE_LIMIT + 1);
      expect(statuses.slice(0, -1).every((s) => s === 200)).toBe(true);
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited!.body).toMatchObject({ statusCode: 429, message: expect.stringContaining('credential') });
      // Another agent has its own budget; so has the client address for calls without a credential.
      expect((await api.request('GET', '/v1/contacts?limit=1', { token: unit.ender })).status).toBe(200);
      expect((await api.request('GET', '/v1/contacts?limit=1', { token: null })).status).toBe(401);
      for (let i = 0; i < RATE_LIMIT; i++) await api.request('GET', '/v1/contacts?limit=1', { token: null });
      const anonymous = await api.request('GET', '/v1/contacts?limit=1', { token: null });
      expect(anonymous.status).toBe(429);
      expect(anonymous.body).toMatchObject({ message: expect.stringContaining('client address') });
      expect((await api.request('GET', '/health', { token: null })).status).toBe(200);
    } finally {
      await limitedService.stop();
      removeDataDir(limitedService.dataDir);
    }
  });

  it('the Studio action counts against the agent its body names, not the address every script shares; TRUST_PROXY says whose X-Forwarded-For counts', async () => {
    const limit = 10;
    const behindProxy = await startServiceProcess({
      env: { RATE_LIMIT_PER_MINUTE: String(limit), TRUST_PROXY: '127.0.0.1' },
    });
    const direct = await startServiceProcess({ env: { RATE_LIMIT_PER_MINUTE: String(limit) } });
    try {
      for (const service of [behindProxy, direct]) {
        const api = new OrchestratorClient(service.url, service.platformToken);
        const unit = await api.seedBusinessUnit('bu-proxy');
        const from = (address: string) => ({ token: null, headers: { 'x-forwarded-for': address } });
        // One anonymous client spends the budget of its address.
        for (let i = 0; i < limit; i++) await api.request('GET', '/v1/contacts?limit=1', from('198.51.100.1'));
        expect((await api.request('GET', '/v1/contacts?limit=1', from('198.51.100.1'))).status).toBe(429);
        // A script with a valid SecurityUser in the body still gets its answer (the agent has its own budget).
        const action = await api.request<{ branch: string }>('POST', '/v1/actions/end-a-contact', {
          token: null,
          headers: { 'x-forwarded-for': '198.51.100.1' },
          body: { SecurityUser: '{SecurityUser}', ContactID: '123456', variables: { SecurityUser: unit.ender } },
        });
        expect(`${action.status} ${action.body.branch}`).toBe('200 OnInvalidContactID');
        // Another client behind the trusted proxy has its own budget; without TRUST_PROXY the header is not believed.
        const other = await api.request('GET', '/v1/contacts?limit=1', from('198.51.100.2'));
        expect(other.status, service === behindProxy ? 'behind the trusted proxy' : 'no proxy trusted').toBe(
          service === behindProxy ? 401 : 429,
        );
      }
    } finally {
      await Promise.all([behindProxy.stop(), direct.stop()]);
      removeDataDir(behindProxy.dataDir);
      removeDataDir(direct.dataDir);
    }
  });

  it(`a credential holds ${STREAMS} event streams at most: the next gets 429 until one closes`, async () => {
    const streams: AbortController[] = [];
    const openStream = async () => {
      const controller = new AbortController();
      const response = await fetch(`${suite.service.url}/v1/contacts/stream`, {
        headers: { authorization: `Bearer ${suite.bu.viewer}` },
        signal: controller.signal,
      });
      if (response.status === 200) streams.push(controller);
      else await response.text();
      return response;
    };
    try {
      for (let i = 0; i < STREAMS; i++) expect((await openStream()).status).toBe(200);
      const refused = await openStream();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).not.toBeNull();
      // Another credential is not affected.
      const other = await fetch(`${suite.service.url}/v1/contacts/stream`, {
        headers: { authorization: `Bearer ${suite.bu.ender}` },
      });
      expect(other.status).toBe(200);
      await other.body?.cancel();
      streams.shift()!.abort();
      await expect.poll(async () => (await openStream()).status, { timeout: 5_000 }).toBe(200);
    } finally {
      for (const s of streams) s.abort();
    }
  });
});

describe('L8: security headers', () => {
  it('/docs and the API carry a content security policy, X-Frame-Options and nosniff', async () => {
    for (const path of ['/docs', '/docs-json', '/health']) {
      const answer = await suite.client.request('GET', path, { token: null });
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-security-policy'), path).toContain("default-src 'self'");
      expect(answer.headers.get('content-security-policy'), path).not.toContain('upgrade-insecure-requests');
      expect(answer.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(answer.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });
});
