/**
 * SetSecurityUser credentials: a signed (HS256), expiring token naming an agent and its business unit, and the
 * `kid` of the ring key that signed it (key-ring.ts). Verifying the signature is not enough: `authenticate` checks
 * the claims against the directory as it is now.
 */
import { SignJWT, errors, jwtVerify, type JWTHeaderParameters } from 'jose';
import type { Caller } from './caller.js';
import type { Agent, SecurityProfile } from './directory.js';
import { signingKeyOf, verificationKeyOf, type KeyRing } from './key-ring.js';

const ISSUER = 'contact-orchestrator';
const AUDIENCE = 'security-user';

/**
 * What a verified SecurityUser says. The service's own tokens name the agent's business unit (`bu`), checked against
 * the directory; an identity provider's name the agent alone, and the directory's business unit is the agent's.
 */
export type SecurityUserClaims = { agentId: string; businessUnitId?: string; expiresAt: Date };
export type Verification = { ok: true; claims: SecurityUserClaims } | { ok: false; detail: string };

export async function issueSecurityUser(
  agent: { agentId: string; businessUnitId: string },
  ring: KeyRing,
  ttlSeconds: number,
  now: Date,
): Promise<{ securityUser: string; expiresAt: Date }> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + Math.min(ttlSeconds, ring.maxTokenAgeSeconds);
  const { kid, key } = signingKeyOf(ring);
  const securityUser = await new SignJWT({ bu: agent.businessUnitId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
    .setSubject(agent.agentId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
  return { securityUser, expiresAt: new Date(exp * 1000) };
}

export async function verifySecurityUser(token: string | undefined, ring: KeyRing, now: Date): Promise<Verification> {
  if (token === undefined || token.trim() === '') return { ok: false, detail: 'SecurityUser is missing' };
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token))
    return { ok: false, detail: 'SecurityUser is malformed' };
  try {
    // A kid the ring does not hold (or none) is refused before any signature is computed.
    const keyFor = (header: JWTHeaderParameters) => {
      const key = verificationKeyOf(ring, header.kid);
      if (key === undefined) throw new errors.JWKSNoMatchingKey();
      return key;
    };
    const { payload } = await jwtVerify(token, keyFor, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      currentDate: now,
      requiredClaims: ['sub', 'exp', 'iat'],
      maxTokenAge: ring.maxTokenAgeSeconds,
    });
    // maxTokenAge bounds the age since `iat`; a lifetime longer than the TTL (exp far away) is refused as well.
    if (payload.exp! - payload.iat! > ring.maxTokenAgeSeconds)
      return { ok: false, detail: 'SecurityUser lives longer than the maximum token age' };
    const agentId = payload.sub;
    const businessUnitId = payload['bu'];
    if (typeof agentId !== 'string' || typeof businessUnitId !== 'string' || payload.exp === undefined) {
      return { ok: false, detail: 'SecurityUser names no agent' };
    }
    return { ok: true, claims: { agentId, businessUnitId, expiresAt: new Date(payload.exp * 1000) } };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, detail: 'SecurityUser has expired' };
    if (error instanceof errors.JWSSignatureVerificationFailed)
      return { ok: false, detail: 'SecurityUser signature is invalid' };
    if (error instanceof errors.JWKSNoMatchingKey)
      return { ok: false, detail: 'SecurityUser names no signing key of this service' };
    if (error instanceof errors.JOSEError) return { ok: false, detail: `SecurityUser is invalid: ${error.code}` };
    throw error;
  }
}

/** The caller as the directory sees it now: an agent deactivated after issue is no longer a valid security user. */
export function authenticate(
  verification: Verification,
  agent: Agent | undefined,
  profile: SecurityProfile | undefined,
): Caller {
  if (!verification.ok) return { kind: 'Unauthenticated', detail: verification.detail };
  const { agentId, businessUnitId: claimed } = verification.claims;
  if (!agent) {
    const known = { agentId, ...(claimed !== undefined ? { businessUnitId: claimed } : {}) };
    return { kind: 'Unauthenticated', detail: `SecurityUser names unknown agent ${agentId}`, ...known };
  }
  // A token naming no business unit (an identity provider's) belongs to the agent's, as the directory has it now.
  const businessUnitId = claimed ?? agent.businessUnitId;
  const known = { agentId, businessUnitId };
  if (!agent.active) return { kind: 'Unauthenticated', detail: `Agent ${agentId} is inactive`, ...known };
  if (agent.businessUnitId !== businessUnitId) {
    return {
      kind: 'Unauthenticated',
      detail: `Agent ${agentId} no longer belongs to business unit ${businessUnitId}`,
      ...known,
    };
  }
  return { kind: 'Agent', agentId, businessUnitId, permissions: profile ? [...profile.permissions] : [] };
}
