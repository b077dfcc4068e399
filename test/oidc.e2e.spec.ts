/**
 * SecurityUsers from the company's identity provider, over HTTP against the built service (docs/operations.md,
 * "Pointing the service at an identity provider"): a stand-in provider serves its JWKS on 127.0.0.1; its tokens end
 * contacts as the service's own HS256 ones do, the directory still decides, each refusal is a 401
 * InvalidSecurityUser with its reason, a rotated key is taken without a restart, and while the provider is down the
 * keys it gave keep working and /health says it is unreachable.
 */
import { spawnSync } from 'node:child_process';
import { exportSPKI, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { AUDIENCE, ISSUER, JwksServer, type ProviderKey } from './harness/jwks-server.js';
import { MAIN, removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';

const COOLDOWN_MS = 1_000;
const BU = 'bu-idp';
const ENDER = `${BU}-ender`;

let provider: JwksServer;
let key: ProviderKey;
/** The key the rotation test publishes; the first one is removed then. */
let rotated: ProviderKey;
let service: ServiceProcess;
let api: OrchestratorClient;

type Health = { status: string; details?: Record<string, Record<string, unknown>> };

/** A key set refresh is due once the cooldown has passed: polled, with this deadline. */
const REFRESHED = { timeout: 20_000, interval: 100 };
/** A read an agent with Contacts.View may make: 200 when its SecurityUser is accepted. */
const read = (token: string) => api.request('GET', '/v1/contacts?limit=1', { token });
const refusal = (message: string) => ({
  status: 401,
  body: { branch: 'OnInvalidSecurityUser', error: { code: 'InvalidSecurityUser', message } },
});
const endWith = async (token: string) => {
  const contactId = await api.startContact(BU, 'Voicemail');
  const answer = await api.endContact(contactId, token);
  return { status: answer.status, body: answer.body };
};

beforeAll(async () => {
  provider = await JwksServer.start();
  key = await provider.addKey('RS256');
  service = await startServiceProcess({
    env: {
      SECURITY_USER_JWKS_URL: provider.url,
      SECURITY_USER_ISSUER: ISSUER,
      SECURITY_USER_AUDIENCE: AUDIENCE,
      SECURITY_USER_JWKS_COOLDOWN_MS: String(COOLDOWN_MS),
      ANONYMOUS_REFUSALS_PER_MINUTE: '1000',
    },
  });
  api = new OrchestratorClient(service.url, service.platformToken);
  await api.seedBusinessUnit(BU);
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
  await provider?.stop();
});

describe("the identity provider's SecurityUsers", () => {
  it("end a contact as the agent `sub` names, beside the service's own HS256 SecurityUsers", async () => {
    const answer = await endWith(await provider.sign(key, ENDER));
    expect(answer).toMatchObject({ status: 200, body: { branch: 'OnSuccess' } });
    const view = await api.request('GET', `/v1/contacts/${answer.body.contactId}`);
    expect(view.body).toMatchObject({ state: 'Ended', endedBy: ENDER });
    // The key ring keeps working: SetSecurityUser's token for the same agent.
    expect(await endWith(await api.securityUser(ENDER))).toMatchObject({ status: 200, body: { branch: 'OnSuccess' } });
  });

  it('the directory still decides: an agent without Contacts.End, an inactive one, an unknown one', async () => {
    expect(await endWith(await provider.sign(key, `${BU}-viewer`))).toMatchObject({
      status: 403,
      body: { branch: 'OnUnauthorized', error: { code: 'Unauthorized' } },
    });
    expect(await endWith(await provider.sign(key, `${BU}-inactive`))).toMatchObject(
      refusal(`Agent ${BU}-inactive is inactive`),
    );
    expect(await endWith(await provider.sign(key, 'nobody'))).toMatchObject(
      refusal('SecurityUser names unknown agent nobody'),
    );
  });

  it('each refusal is a 401 InvalidSecurityUser saying why', async () => {
    const now = Date.now();
    expect(await endWith(await provider.sign(key, ENDER, { expiresAt: new Date(now - 60_000) }))).toMatchObject(
      refusal('SecurityUser has expired'),
    );
    expect(await endWith(await provider.sign(key, ENDER, { issuer: 'https://elsewhere.test' }))).toMatchObject(
      refusal('SecurityUser comes from another issuer'),
    );
    expect(await endWith(await provider.sign(key, ENDER, { audience: 'api://another' }))).toMatchObject(
      refusal('SecurityUser is meant for another audience'),
    );
    // alg none over a real signature: the provider's verifier refuses the algorithm.
    const [, payload, signature] = (await provider.sign(key, ENDER)).split('.');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', kid: key.kid })).toString('base64url');
    expect(await endWith(`${none}.${payload}.${signature}`)).toMatchObject(
      refusal('SecurityUser is signed with an algorithm this service does not accept'),
    );
    // HS256 keyed with the provider's public key: an HMAC goes to the key ring, which has no such key.
    const confused = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: key.kid })
      .setSubject(ENDER)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(await exportSPKI(key.publicKey)));
    expect(await endWith(confused)).toMatchObject(refusal('SecurityUser names no signing key of this service'));
    expect(await endWith(await provider.sign(key, ENDER, { kid: 'never-published' }))).toMatchObject(
      refusal('SecurityUser names no signing key of the identity provider'),
    );
  });

  it('a rotated key is taken without a restart once the cooldown has passed; a removed one is refused after a refresh', async () => {
    rotated = await provider.addKey('ES256');
    const token = await provider.sign(rotated, ENDER);
    await vi.waitFor(async () => expect((await read(token)).status).toBe(200), REFRESHED);
    expect((await endWith(token)).status).toBe(200);

    const old = await provider.sign(key, ENDER);
    expect((await read(old)).status).toBe(200);
    provider.removeKey(key);
    // A token naming a kid never published makes the service refresh its key set once the cooldown has passed.
    const poke = () => provider.sign(rotated, ENDER, { kid: `unpublished-${Math.random()}` });
    await vi.waitFor(async () => {
      await read(await poke());
      expect(await endWith(old)).toMatchObject(refusal('SecurityUser names no signing key of the identity provider'));
    }, REFRESHED);
    expect((await read(token)).status).toBe(200);
  });

  it('the provider down: its keys keep working, a new kid is refused as unreachable, /health says so', async () => {
    const known = await provider.sign(rotated, ENDER);
    expect((await read(known)).status).toBe(200);
    provider.down();
    const next = await provider.addKey('EdDSA');
    const unknown = await provider.sign(next, ENDER);
    const unreachable =
      'SecurityUser names a signing key the identity provider could not be asked about: it is unreachable';
    // Within the cooldown after the last good fetch the kid is merely unknown; after it, the fetch fails.
    await vi.waitFor(async () => expect(await endWith(unknown)).toMatchObject(refusal(unreachable)), REFRESHED);

    const health = await api.request<Health>('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    expect(health.body.details?.['identityProvider']).toMatchObject({
      status: 'up',
      state: 'unreachable',
      error: expect.stringContaining('fetch failed'),
      lastRefresh: expect.any(String),
    });
    expect((await api.request<Health>('GET', '/health', { token: null })).body).toEqual({ status: 'ok' });
    expect(service.output()).toContain('identity provider unreachable');

    // The keys it gave before still verify, a new token included, and the agent still ends contacts.
    expect((await endWith(await provider.sign(rotated, ENDER))).status).toBe(200);
    expect((await read(known)).status).toBe(200);

    provider.up();
    await vi.waitFor(async () => expect((await read(unknown)).status).toBe(200), REFRESHED);
    expect((await api.request<Health>('GET', '/health')).body.details?.['identityProvider']).toMatchObject({
      state: 'up',
    });
    expect(service.output()).toContain('identity provider answering again');
  });
});

describe('a half-configured identity provider stops the service (exit 78, naming the variable)', () => {
  it.each<[Record<string, string>, string]>([
    [
      { SECURITY_USER_JWKS_URL: 'https://idp.example.test/keys', SECURITY_USER_AUDIENCE: AUDIENCE },
      'SECURITY_USER_ISSUER',
    ],
    [
      {
        SECURITY_USER_JWKS_URL: 'https://idp.example.test/keys',
        SECURITY_USER_ISSUER: ISSUER,
        SECURITY_USER_AUDIENCE: AUDIENCE,
        SECURITY_USER_ALGORITHMS: 'RS256,HS256',
      },
      'SECURITY_USER_ALGORITHMS',
    ],
  ])('%j', (env, variable) => {
    const dataDir = tempDataDir();
    try {
      const result = spawnSync(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', ...env },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status, result.stderr).toBe(78);
      expect(result.stderr).toContain(`Invalid configuration: ${variable}`);
    } finally {
      removeDataDir(dataDir);
    }
  });
});
