import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueSecurityUser } from './credentials.js';
import { VerifiedSecurityUsers } from './verified-security-users.js';
import { keyRing } from './key-ring.js';

const key = keyRing([{ kid: 'k1', key: new Uint8Array(randomBytes(32)) }], 3600);
const issuedAt = new Date('2025-03-01T10:00:00.000Z');
const at = (seconds: number): Date => new Date(issuedAt.getTime() + seconds * 1000);
const issue = async (agentId = 'agent-7', ttl = 60) =>
  (await issueSecurityUser({ agentId, businessUnitId: 'bu-1' }, key, ttl, issuedAt)).securityUser;

describe('VerifiedSecurityUsers: a cache of verified SecurityUsers, never of refusals', () => {
  it('answers a repeated SecurityUser with the same claims as a full verification', async () => {
    const cache = new VerifiedSecurityUsers(key);
    const token = await issue();
    const first = await cache.verify(token, at(1));
    const second = await cache.verify(token, at(2));
    expect(first).toEqual({ ok: true, claims: { agentId: 'agent-7', businessUnitId: 'bu-1', expiresAt: at(60) } });
    expect(second).toEqual(first);
    expect(cache.size).toBe(1);
  });

  it('a cached SecurityUser is expired at its exp, exactly as a full verification says', async () => {
    const cache = new VerifiedSecurityUsers(key);
    const token = await issue();
    expect((await cache.verify(token, at(59))).ok).toBe(true);
    expect(await cache.verify(token, at(60))).toEqual({ ok: false, detail: 'SecurityUser has expired' });
    expect(cache.size).toBe(0);
  });

  it('does not keep refusals: a forged token is checked in full every time', async () => {
    const cache = new VerifiedSecurityUsers(key);
    const token = await issue();
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await cache.verify(forged, at(1))).ok).toBe(false);
    expect(cache.size).toBe(0);
    expect((await cache.verify(undefined, at(1))).ok).toBe(false);
    expect((await cache.verify(forged, at(2))).ok).toBe(false);
  });

  it('stays within its capacity, evicting the least recently used', async () => {
    const cache = new VerifiedSecurityUsers(key, 2);
    const [a, b, c] = await Promise.all([issue('a'), issue('b'), issue('c')]);
    await cache.verify(a, at(1));
    await cache.verify(b, at(1));
    await cache.verify(a, at(2)); // a is now the most recent
    await cache.verify(c, at(3)); // evicts b
    expect([cache.has(a), cache.has(b), cache.has(c)]).toEqual([true, false, true]);
    // The evicted one still verifies in full (and is kept again): eviction never refuses a valid token.
    expect((await cache.verify(b, at(4))).ok).toBe(true);
    expect([cache.has(a), cache.has(b), cache.has(c)]).toEqual([false, true, true]);
  });
});
