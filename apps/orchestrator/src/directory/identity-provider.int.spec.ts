/**
 * SecurityUsers from an identity provider, verified against a real JWKS served over HTTP on 127.0.0.1 (node:http,
 * keys from jose's generateKeyPair; jose itself is not mocked): rotation, removal, each refusal, an unknown-kid
 * storm, and a provider that stops answering. Only Date is faked, to move past the cooldown and the maximum age.
 */
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { securityUserIssuer } from '#security';
import { AUDIENCE, ISSUER, JwksServer, type ProviderKey } from '#harness/jwks-server';
import type { IdentityProviderConfig } from '../config/configuration.js';
import { IdentityProviderKeys, IdentityProviderVerifier } from './identity-provider.js';

const COOLDOWN_MS = 30_000;
const MAX_AGE_MS = 600_000;
const NO_KEY = { ok: false, detail: 'SecurityUser names no signing key of the identity provider' };
const UNREACHABLE = {
  ok: false,
  detail: 'SecurityUser names a signing key the identity provider could not be asked about: it is unreachable',
};

let server: JwksServer;
let key: ProviderKey;
const configOf = (overrides: Partial<IdentityProviderConfig> = {}): IdentityProviderConfig => ({
  jwksUrl: server.url,
  issuer: ISSUER,
  audience: AUDIENCE,
  agentClaim: 'sub',
  algorithms: ['RS256', 'ES256', 'EdDSA'],
  timeoutMs: 5_000,
  cooldownMs: COOLDOWN_MS,
  cacheMaxAgeMs: MAX_AGE_MS,
  ...overrides,
});
const later = (ms: number): void => void vi.setSystemTime(Date.now() + ms);
const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  server = await JwksServer.start();
  key = await server.addKey('RS256');
});
afterEach(async () => {
  vi.useRealTimers();
  await server.stop();
});

describe('a SecurityUser signed by a key the identity provider publishes', () => {
  it.each(['RS256', 'ES256', 'EdDSA'] as const)('%s: the agent its `sub` names, and the expiry', async (alg) => {
    const signing = await server.addKey(alg);
    const verifier = new IdentityProviderVerifier(configOf());
    const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    const token = await server.sign(signing, 'ada', { expiresAt });
    expect(await verifier.verify(token, new Date())).toStrictEqual({
      ok: true,
      claims: { agentId: 'ada', expiresAt },
    });
    expect(server.requests).toBe(1);
  });

  it('the agent comes from the configured claim; a token without it names no agent', async () => {
    const verifier = new IdentityProviderVerifier(configOf({ agentClaim: 'preferred_username' }));
    const named = await server.sign(key, 'some-oid', { claims: { preferred_username: 'ada' } });
    expect(await verifier.verify(named, new Date())).toMatchObject({ ok: true, claims: { agentId: 'ada' } });
    expect(await verifier.verify(await server.sign(key, 'some-oid'), new Date())).toStrictEqual({
      ok: false,
      detail: 'SecurityUser names no agent (claim preferred_username)',
    });
  });
});

describe('rotation', () => {
  it('a new kid is fetched and accepted without a restart, once the cooldown after the last fetch has passed', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    expect((await verifier.verify(await server.sign(key, 'ada'), new Date())).ok).toBe(true);
    const rotated = await server.addKey('ES256');
    // Within the cooldown an unknown kid asks nothing of the provider: it is refused as unknown.
    expect(await verifier.verify(await server.sign(rotated, 'ada'), new Date())).toStrictEqual(NO_KEY);
    expect(server.requests).toBe(1);
    later(COOLDOWN_MS);
    expect((await verifier.verify(await server.sign(rotated, 'ada'), new Date())).ok).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('a removed key is refused once the key set is refreshed (its maximum age), its remembered tokens too', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    const token = await server.sign(key, 'ada', { expiresAt: new Date(Date.now() + 2 * MAX_AGE_MS) });
    const next = await server.addKey('ES256');
    expect((await verifier.verify(token, new Date())).ok).toBe(true);
    server.removeKey(key);
    // The set held is young: the token, remembered, still holds.
    expect((await verifier.verify(token, new Date())).ok).toBe(true);
    later(MAX_AGE_MS);
    expect(await verifier.verify(token, new Date())).toStrictEqual(NO_KEY);
    expect(server.requests).toBe(2);
    expect((await verifier.verify(await server.sign(next, 'ada'), new Date())).ok).toBe(true);
  });
});

describe('refusals', () => {
  it('expired: refused past exp (beyond the few seconds of clock tolerance)', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    const token = await server.sign(key, 'ada', { expiresAt: new Date(Date.now() + 60_000) });
    expect((await verifier.verify(token, new Date())).ok).toBe(true);
    expect(await verifier.verify(token, new Date(Date.now() + 70_000))).toStrictEqual({
      ok: false,
      detail: 'SecurityUser has expired',
    });
  });

  it('a token without exp is refused', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setSubject('ada')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(key.privateKey);
    expect(await verifier.verify(token, new Date())).toStrictEqual({
      ok: false,
      detail: 'SecurityUser is invalid: ERR_JWT_CLAIM_VALIDATION_FAILED (exp)',
    });
  });

  it('wrong issuer', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    const token = await server.sign(key, 'ada', { issuer: 'https://idp.example.test/another-tenant' });
    expect(await verifier.verify(token, new Date())).toStrictEqual({
      ok: false,
      detail: 'SecurityUser comes from another issuer',
    });
  });

  it('wrong audience', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    const token = await server.sign(key, 'ada', { audience: 'api://another-service' });
    expect(await verifier.verify(token, new Date())).toStrictEqual({
      ok: false,
      detail: 'SecurityUser is meant for another audience',
    });
  });

  it('a signature by another key under a published kid', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    const { privateKey } = await generateKeyPair('RS256');
    const token = await server.sign({ ...key, privateKey }, 'ada');
    expect(await verifier.verify(token, new Date())).toStrictEqual({
      ok: false,
      detail: 'SecurityUser signature is invalid',
    });
  });

  describe('wrong algorithm', () => {
    const NOT_ACCEPTED = { ok: false, detail: 'SecurityUser is signed with an algorithm this service does not accept' };

    it('HS256 "signed" with the public key: never sent to the provider, and refused by its verifier', async () => {
      const verifier = new IdentityProviderVerifier(configOf());
      const publicBytes = new TextEncoder().encode(await exportSPKI(key.publicKey));
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: key.kid })
        .setSubject('ada')
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(publicBytes);
      expect(securityUserIssuer(token)).toBe('key-ring');
      expect(await verifier.verify(token, new Date())).toStrictEqual(NOT_ACCEPTED);
      expect(server.requests).toBe(0);
    });

    it('alg none, over a real signature or none', async () => {
      const verifier = new IdentityProviderVerifier(configOf());
      const [, payload, signature] = (await server.sign(key, 'ada')).split('.');
      const header = b64url({ alg: 'none', typ: 'JWT', kid: key.kid });
      expect(securityUserIssuer(`${header}.${payload}.${signature}`)).toBe('identity-provider');
      expect(await verifier.verify(`${header}.${payload}.${signature}`, new Date())).toStrictEqual(NOT_ACCEPTED);
      expect((await verifier.verify(`${header}.${payload}.`, new Date())).ok).toBe(false);
      expect(server.requests).toBe(0);
    });

    it('an RS256 token when only ES256 is allowed: refused before any key is looked up', async () => {
      const verifier = new IdentityProviderVerifier(configOf({ algorithms: ['ES256'] }));
      expect(await verifier.verify(await server.sign(key, 'ada'), new Date())).toStrictEqual(NOT_ACCEPTED);
      expect(server.requests).toBe(0);
    });
  });
});

describe('an unknown-kid storm asks the provider a handful of times at most', () => {
  const storm = async (verifier: IdentityProviderVerifier, concurrent: boolean) => {
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => server.sign(key, 'ada', { kid: `random-${i}-${Math.random()}` })),
    );
    const verify = (token: string) => verifier.verify(token, new Date());
    if (concurrent) return Promise.all(tokens.map(verify));
    const answers = [];
    for (const token of tokens) answers.push(await verify(token));
    return answers;
  };

  it.each([
    ['one after the other', false],
    ['all at once', true],
  ])('200 tokens with random kids, %s: one request, each refused', async (_how, concurrent) => {
    const verifier = new IdentityProviderVerifier(configOf());
    const answers = await storm(verifier, concurrent);
    expect(answers).toStrictEqual(answers.map(() => NO_KEY));
    expect(server.requests).toBe(1);
  });

  it('after the cooldown, another storm makes one more request', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    expect((await verifier.verify(await server.sign(key, 'ada'), new Date())).ok).toBe(true);
    await storm(verifier, false);
    expect(server.requests).toBe(1);
    later(COOLDOWN_MS);
    await storm(verifier, true);
    await storm(verifier, false);
    expect(server.requests).toBe(2);
  });

  it('with the provider down, one request per cooldown', async () => {
    const verifier = new IdentityProviderVerifier(configOf());
    expect((await verifier.verify(await server.sign(key, 'ada'), new Date())).ok).toBe(true);
    server.down();
    later(COOLDOWN_MS);
    const answers = await storm(verifier, false);
    expect(answers).toStrictEqual(answers.map(() => UNREACHABLE));
    expect(server.requests).toBe(2);
    later(COOLDOWN_MS);
    await storm(verifier, true);
    expect(server.requests).toBe(3);
  });
});

describe('the provider down', () => {
  it('the last good keys keep verifying, a new kid is refused as unreachable, and the health says so', async () => {
    const changes: string[] = [];
    const verifier = new IdentityProviderVerifier(
      configOf(),
      new IdentityProviderKeys(configOf(), (health) => changes.push(health.state)),
    );
    expect(verifier.keys.health()).toStrictEqual({ status: 'up', state: 'not yet asked', keys: 0 });
    expect((await verifier.verify(await server.sign(key, 'ada'), new Date())).ok).toBe(true);
    const up = verifier.keys.health();
    expect(up).toMatchObject({ status: 'up', state: 'up', keys: 1 });
    expect(Date.parse(up.lastRefresh!)).toBe(Date.now());

    server.down();
    const rotated = await server.addKey('ES256');
    // Past the maximum age jose fetches again before it answers: that fails, and the last good set answers.
    later(MAX_AGE_MS);
    expect((await verifier.verify(await server.sign(key, 'bob'), new Date())).ok).toBe(true);
    expect(server.requests).toBe(2);
    expect(verifier.keys.health()).toMatchObject({
      status: 'up',
      state: 'unreachable',
      lastRefresh: up.lastRefresh,
      since: new Date().toISOString(),
      error: expect.stringContaining('fetch failed'),
      keys: 1,
    });
    expect(await verifier.verify(await server.sign(rotated, 'ada'), new Date())).toStrictEqual(UNREACHABLE);
    // Still within the cooldown of the failed request: nothing more was asked.
    expect(server.requests).toBe(2);

    server.up();
    later(COOLDOWN_MS);
    expect((await verifier.verify(await server.sign(rotated, 'ada'), new Date())).ok).toBe(true);
    expect(verifier.keys.health()).toMatchObject({ status: 'up', state: 'up', keys: 2 });
    expect(verifier.keys.health()).not.toHaveProperty('error');
    // Told once when it stopped answering, once when it answered again: not at every failed request.
    expect(changes).toEqual(['unreachable', 'up']);
  });

  it('a provider that does not answer within the timeout is unreachable; its last good keys answer', async () => {
    const verifier = new IdentityProviderVerifier(configOf({ timeoutMs: 200 }));
    expect((await verifier.verify(await server.sign(key, 'ada'), new Date())).ok).toBe(true);
    server.hang();
    later(MAX_AGE_MS);
    expect((await verifier.verify(await server.sign(key, 'bob'), new Date())).ok).toBe(true);
    expect(verifier.keys.health()).toMatchObject({ state: 'unreachable', error: 'no answer within 200 ms' });
    expect(server.requests).toBe(2);
  });

  it('a provider never reached: every token is refused as unreachable', async () => {
    server.down();
    const verifier = new IdentityProviderVerifier(configOf());
    expect(await verifier.verify(await server.sign(key, 'ada'), new Date())).toStrictEqual(UNREACHABLE);
    expect(verifier.keys.health()).toMatchObject({ status: 'up', state: 'unreachable', keys: 0 });
  });

  it('an answer that is no key set is a failure too, and names the status', async () => {
    const verifier = new IdentityProviderVerifier(configOf({ jwksUrl: server.url.replace('jwks.json', 'missing') }));
    expect(await verifier.verify(await server.sign(key, 'ada'), new Date())).toStrictEqual(UNREACHABLE);
    expect(verifier.keys.health()).toMatchObject({ state: 'unreachable', error: 'the key set URL answered 404' });
  });
});
