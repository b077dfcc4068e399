import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { authorize } from './caller.js';
import { CONTACTS_END, foldAgent, foldProfile, type Agent } from './directory.js';
import { authenticate, issueSecurityUser, verifySecurityUser, type Verification } from './credentials.js';
import { keyRing } from './key-ring.js';

const rawKey = new Uint8Array(randomBytes(32));
const issuedAt = new Date('2025-03-01T10:00:00.500Z');
const TTL = 900;
const key = keyRing([{ kid: 'k1', key: rawKey }], TTL);
// The same kid over another secret: a forger who knows the kid but not the key.
const otherKey = keyRing([{ kid: 'k1', key: new Uint8Array(randomBytes(32)) }], TTL);
const expiry = new Date('2025-03-01T10:15:00.000Z');
const seconds = (date: Date, delta: number): Date => new Date(date.getTime() + delta * 1000);

const agent: Agent = { agentId: 'agent-7', businessUnitId: 'bu-100', securityProfileId: 'supervisors', active: true };
const issue = () =>
  issueSecurityUser({ agentId: agent.agentId, businessUnitId: agent.businessUnitId }, key, TTL, issuedAt);

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const segments = (token: string): [string, string, string] => token.split('.') as [string, string, string];
const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(segments(token)[1], 'base64url').toString());

describe('issueSecurityUser and verifySecurityUser', () => {
  it('round trip: the verified claims name the agent, its business unit and the expiry', async () => {
    const { securityUser, expiresAt } = await issue();
    expect(expiresAt).toStrictEqual(expiry);
    expect(await verifySecurityUser(securityUser, key, seconds(issuedAt, 60))).toStrictEqual({
      ok: true,
      claims: { agentId: 'agent-7', businessUnitId: 'bu-100', expiresAt: expiry },
    });
  });

  it('the token is a signed HS256 JWT and carries no permissions (they are read from the directory)', async () => {
    const { securityUser } = await issue();
    const header = JSON.parse(Buffer.from(segments(securityUser)[0], 'base64url').toString());
    expect(header).toStrictEqual({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
    expect(claimsOf(securityUser)).toStrictEqual({
      bu: 'bu-100',
      sub: 'agent-7',
      iss: 'contact-orchestrator',
      aud: 'security-user',
      iat: Math.floor(issuedAt.getTime() / 1000),
      exp: expiry.getTime() / 1000,
    });
  });

  it('is still valid one second before expiry', async () => {
    const { securityUser } = await issue();
    expect((await verifySecurityUser(securityUser, key, seconds(expiry, -1))).ok).toBe(true);
  });

  it.each([0, 1, 3600])('is expired %i seconds after expiry', async (after) => {
    const { securityUser } = await issue();
    expect(await verifySecurityUser(securityUser, key, seconds(expiry, after))).toStrictEqual({
      ok: false,
      detail: 'SecurityUser has expired',
    });
  });

  it('is refused when signed with another key (forged)', async () => {
    const forged = await issueSecurityUser({ agentId: 'agent-7', businessUnitId: 'bu-100' }, otherKey, TTL, issuedAt);
    expect(await verifySecurityUser(forged.securityUser, key, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser signature is invalid',
    });
  });

  it.each([undefined, '', '   '])('is missing: %j', async (token) => {
    expect(await verifySecurityUser(token, key, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser is missing',
    });
  });

  it.each(['abc', 'a.b', 'a..c', 'a.b.c.d', 'Bearer a.b.c', 'a.b.c ', 'a.b.c=', 'a+b.c.d'])(
    'is malformed: %j',
    async (token) => {
      expect(await verifySecurityUser(token, key, issuedAt)).toStrictEqual({
        ok: false,
        detail: 'SecurityUser is malformed',
      });
    },
  );

  it('three base64url segments that are not a JWT are invalid', async () => {
    expect(await verifySecurityUser('a.b.c', key, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser is invalid: ERR_JWS_INVALID',
    });
  });

  it('an unsigned token (alg none) with an empty signature is malformed', async () => {
    const { securityUser } = await issue();
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${segments(securityUser)[1]}.`;
    expect(await verifySecurityUser(unsigned, key, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser is malformed',
    });
  });

  it('an alg none header over a real signature is refused', async () => {
    const [, payload, signature] = segments((await issue()).securityUser);
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`;
    const verification = await verifySecurityUser(token, key, issuedAt);
    expect(verification.ok).toBe(false);
    expect(verification).toStrictEqual({ ok: false, detail: 'SecurityUser is invalid: ERR_JOSE_ALG_NOT_ALLOWED' });
  });

  it('another HMAC algorithm, even with the right key, is refused', async () => {
    const hs512 = await new SignJWT({ bu: 'bu-100' })
      .setProtectedHeader({ alg: 'HS512', kid: 'k1' })
      .setSubject('agent-7')
      .setIssuer('contact-orchestrator')
      .setAudience('security-user')
      .setExpirationTime(seconds(issuedAt, TTL))
      .sign(rawKey);
    expect(await verifySecurityUser(hs512, key, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser is invalid: ERR_JOSE_ALG_NOT_ALLOWED',
    });
  });

  it.each([
    ['business unit', { bu: 'bu-200' }],
    ['agent', { sub: 'agent-admin' }],
    ['expiry', { exp: 4102444800 }],
  ])('a tampered payload (%s changed) fails the signature check', async (_what, change) => {
    const { securityUser } = await issue();
    const [header, , signature] = segments(securityUser);
    const tampered = `${header}.${b64url({ ...claimsOf(securityUser), ...change })}.${signature}`;
    expect(await verifySecurityUser(tampered, key, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser signature is invalid',
    });
  });

  it.each([
    [
      'another audience',
      (jwt: SignJWT) =>
        jwt.setIssuer('contact-orchestrator').setAudience('someone-else').setExpirationTime(seconds(issuedAt, TTL)),
    ],
    [
      'another issuer',
      (jwt: SignJWT) =>
        jwt.setIssuer('elsewhere').setAudience('security-user').setExpirationTime(seconds(issuedAt, TTL)),
    ],
    ['no expiry', (jwt: SignJWT) => jwt.setIssuer('contact-orchestrator').setAudience('security-user')],
  ])('a correctly signed token with %s is invalid', async (_what, shape) => {
    const token = await shape(
      new SignJWT({ bu: 'bu-100' })
        .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
        .setSubject('agent-7')
        .setIssuedAt(issuedAt),
    ).sign(rawKey);
    expect(await verifySecurityUser(token, key, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser is invalid: ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
  });

  it('a correctly signed token without a business unit names no agent', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('agent-7')
      .setIssuedAt(issuedAt)
      .setIssuer('contact-orchestrator')
      .setAudience('security-user')
      .setExpirationTime(seconds(issuedAt, TTL))
      .sign(rawKey);
    expect(await verifySecurityUser(token, key, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser names no agent',
    });
  });
});

describe('the key ring: rotation and maximum token age', () => {
  const oldKey = { kid: '2025-01', key: new Uint8Array(randomBytes(32)) };
  const newKey = { kid: '2025-03', key: new Uint8Array(randomBytes(32)) };
  const before = keyRing([oldKey], TTL);
  const rotated = keyRing([newKey, oldKey], TTL);
  const kidOf = (token: string): unknown => JSON.parse(Buffer.from(segments(token)[0], 'base64url').toString()).kid;
  const subject = { agentId: 'agent-7', businessUnitId: 'bu-100' };

  it('after a rotation the newest key signs, and tokens issued before it stay valid until they expire', async () => {
    const old = (await issueSecurityUser(subject, before, TTL, issuedAt)).securityUser;
    const fresh = (await issueSecurityUser(subject, rotated, TTL, seconds(issuedAt, 60))).securityUser;
    expect([kidOf(old), kidOf(fresh)]).toEqual(['2025-01', '2025-03']);
    expect((await verifySecurityUser(old, rotated, seconds(issuedAt, 120))).ok).toBe(true);
    expect((await verifySecurityUser(fresh, rotated, seconds(issuedAt, 120))).ok).toBe(true);
    expect(await verifySecurityUser(old, rotated, seconds(expiry, 1))).toStrictEqual({
      ok: false,
      detail: 'SecurityUser has expired',
    });
  });

  it('once the old key leaves the ring its tokens are refused', async () => {
    const old = (await issueSecurityUser(subject, before, TTL, issuedAt)).securityUser;
    expect(await verifySecurityUser(old, keyRing([newKey], TTL), seconds(issuedAt, 1))).toStrictEqual({
      ok: false,
      detail: 'SecurityUser names no signing key of this service',
    });
  });

  it('a token with no kid, or a kid the ring does not hold, is refused', async () => {
    const noKid = await new SignJWT({ bu: 'bu-100' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('agent-7')
      .setIssuer('contact-orchestrator')
      .setAudience('security-user')
      .setIssuedAt(issuedAt)
      .setExpirationTime(seconds(issuedAt, 60))
      .sign(oldKey.key);
    expect(await verifySecurityUser(noKid, before, issuedAt)).toStrictEqual({
      ok: false,
      detail: 'SecurityUser names no signing key of this service',
    });
  });

  const signedWith = (iat: Date, exp: Date) =>
    new SignJWT({ bu: 'bu-100' })
      .setProtectedHeader({ alg: 'HS256', kid: oldKey.kid })
      .setSubject('agent-7')
      .setIssuer('contact-orchestrator')
      .setAudience('security-user')
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(oldKey.key);

  it('a correctly signed token whose exp is 100 years away is refused (maxTokenAge = TTL)', async () => {
    const token = await signedWith(issuedAt, seconds(issuedAt, 100 * 365 * 24 * 3600));
    expect(await verifySecurityUser(token, before, seconds(issuedAt, 1))).toStrictEqual({
      ok: false,
      detail: 'SecurityUser lives longer than the maximum token age',
    });
  });

  it('a token older than the TTL is refused even when its exp says otherwise', async () => {
    const token = await signedWith(issuedAt, seconds(issuedAt, 100 * 365 * 24 * 3600));
    expect(await verifySecurityUser(token, before, seconds(issuedAt, TTL + 5))).toStrictEqual({
      ok: false,
      detail: 'SecurityUser has expired',
    });
  });

  it('a token issued in the future is refused', async () => {
    const token = await signedWith(seconds(issuedAt, 3600), seconds(issuedAt, 3600 + 60));
    expect((await verifySecurityUser(token, before, issuedAt)).ok).toBe(false);
  });
});

describe('authenticate: the caller as the directory sees it now', () => {
  const verified = async (): Promise<Verification> =>
    verifySecurityUser((await issue()).securityUser, key, seconds(issuedAt, 60));
  const supervisors = foldProfile([
    {
      type: 'SecurityProfileDefined',
      data: { profileId: 'supervisors', name: 'Supervisors', permissions: ['Contacts.End', 'Contacts.View'] },
    },
  ]);
  const mayEnd = (caller: ReturnType<typeof authenticate>) => authorize(caller, CONTACTS_END);

  it('a failed verification is unauthenticated with its detail, and is refused as InvalidSecurityUser', async () => {
    const verification = await verifySecurityUser('a.b', key, issuedAt);
    const caller = authenticate(verification, agent, supervisors);
    expect(caller).toStrictEqual({ kind: 'Unauthenticated', detail: 'SecurityUser is malformed' });
    expect(mayEnd(caller)).toStrictEqual({
      allowed: false,
      refusal: { reason: 'InvalidSecurityUser', detail: 'SecurityUser is malformed' },
    });
  });

  it('an expired SecurityUser of an active agent is unauthenticated', async () => {
    const verification = await verifySecurityUser((await issue()).securityUser, key, seconds(expiry, 1));
    expect(authenticate(verification, agent, supervisors)).toStrictEqual({
      kind: 'Unauthenticated',
      detail: 'SecurityUser has expired',
    });
  });

  it('an unknown agent is unauthenticated, with the claims kept for the audit', async () => {
    expect(authenticate(await verified(), undefined, supervisors)).toStrictEqual({
      kind: 'Unauthenticated',
      detail: 'SecurityUser names unknown agent agent-7',
      agentId: 'agent-7',
      businessUnitId: 'bu-100',
    });
  });

  it('an agent deactivated after the SecurityUser was issued is unauthenticated', async () => {
    const verification = await verified();
    const deactivated = foldAgent([
      { type: 'AgentRegistered', data: agent },
      { type: 'AgentDeactivated', data: { ...agent, active: false } },
    ]);
    const caller = authenticate(verification, deactivated, supervisors);
    expect(caller).toStrictEqual({
      kind: 'Unauthenticated',
      detail: 'Agent agent-7 is inactive',
      agentId: 'agent-7',
      businessUnitId: 'bu-100',
    });
    expect(mayEnd(caller)).toStrictEqual({
      allowed: false,
      refusal: {
        reason: 'InvalidSecurityUser',
        detail: 'Agent agent-7 is inactive',
        agentId: 'agent-7',
        businessUnitId: 'bu-100',
      },
    });
  });

  it('an agent moved to another business unit is unauthenticated', async () => {
    const moved = foldAgent([
      { type: 'AgentRegistered', data: agent },
      { type: 'AgentUpdated', data: { ...agent, businessUnitId: 'bu-200' } },
    ]);
    expect(authenticate(await verified(), moved, supervisors)).toStrictEqual({
      kind: 'Unauthenticated',
      detail: 'Agent agent-7 no longer belongs to business unit bu-100',
      agentId: 'agent-7',
      businessUnitId: 'bu-100',
    });
  });

  it('an active agent without a security profile is an agent with no permissions, so it is Unauthorized', async () => {
    const caller = authenticate(await verified(), agent, undefined);
    expect(caller).toStrictEqual({ kind: 'Agent', agentId: 'agent-7', businessUnitId: 'bu-100', permissions: [] });
    expect(mayEnd(caller)).toMatchObject({ allowed: false, refusal: { reason: 'Unauthorized' } });
  });

  it('an active agent whose profile only views contacts is Unauthorized to end them', async () => {
    const viewers = foldProfile([
      {
        type: 'SecurityProfileDefined',
        data: { profileId: 'supervisors', name: 'Viewers', permissions: ['Contacts.View'] },
      },
    ]);
    const caller = authenticate(await verified(), agent, viewers);
    expect(caller).toStrictEqual({
      kind: 'Agent',
      agentId: 'agent-7',
      businessUnitId: 'bu-100',
      permissions: ['Contacts.View'],
    });
    expect(mayEnd(caller)).toStrictEqual({
      allowed: false,
      refusal: {
        reason: 'Unauthorized',
        detail: 'Agent agent-7 lacks permission Contacts.End',
        agentId: 'agent-7',
        businessUnitId: 'bu-100',
      },
    });
  });

  it('an active agent with a profile gets its permissions, and is allowed what they grant', async () => {
    const caller = authenticate(await verified(), agent, supervisors);
    expect(caller).toStrictEqual({
      kind: 'Agent',
      agentId: 'agent-7',
      businessUnitId: 'bu-100',
      permissions: ['Contacts.End', 'Contacts.View'],
    });
    expect(mayEnd(caller)).toStrictEqual({ allowed: true, agent: caller });
  });

  it('a reactivated agent is authenticated again with the same SecurityUser', async () => {
    const reactivated = foldAgent([
      { type: 'AgentRegistered', data: agent },
      { type: 'AgentDeactivated', data: { ...agent, active: false } },
      { type: 'AgentUpdated', data: agent },
    ]);
    expect(authenticate(await verified(), reactivated, supervisors)).toMatchObject({
      kind: 'Agent',
      agentId: 'agent-7',
    });
  });
});

describe("authenticate: an identity provider's SecurityUser names the agent alone", () => {
  const verified: Verification = { ok: true, claims: { agentId: 'agent-7', expiresAt: expiry } };
  const enders = foldProfile([
    {
      type: 'SecurityProfileDefined',
      data: { profileId: 'supervisors', name: 'Enders', permissions: ['Contacts.End'] },
    },
  ]);

  it("the agent's business unit is the directory's, and its profile decides", () => {
    const caller = authenticate(verified, agent, enders);
    expect(caller).toStrictEqual({
      kind: 'Agent',
      agentId: 'agent-7',
      businessUnitId: 'bu-100',
      permissions: ['Contacts.End'],
    });
    expect(authorize(caller, CONTACTS_END)).toStrictEqual({ allowed: true, agent: caller });
  });

  it('an unknown agent is unauthenticated, naming the agent alone', () => {
    expect(authenticate(verified, undefined, enders)).toStrictEqual({
      kind: 'Unauthenticated',
      detail: 'SecurityUser names unknown agent agent-7',
      agentId: 'agent-7',
    });
  });

  it("an inactive agent is unauthenticated, with the directory's business unit for the audit", () => {
    expect(authenticate(verified, { ...agent, active: false }, enders)).toStrictEqual({
      kind: 'Unauthenticated',
      detail: 'Agent agent-7 is inactive',
      agentId: 'agent-7',
      businessUnitId: 'bu-100',
    });
  });
});
