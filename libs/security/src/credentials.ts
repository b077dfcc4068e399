/**
 * SetSecurityUser credentials: a signed (HS256), expiring token naming an agent and its business unit.
 * Verifying the signature is not enough: `authenticate` checks the claims against the directory as it is now.
 */
import type { KeyObject } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import type { Caller } from '#contacts';
import type { Agent, SecurityProfile } from './directory.js';

const ISSUER = 'contact-orchestrator';
const AUDIENCE = 'security-user';

/** The HS256 secret: raw bytes, or a KeyObject made once (saves importing the key at every verification). */
export type SigningKey = Uint8Array | KeyObject;

export type SecurityUserClaims = { agentId: string; businessUnitId: string; expiresAt: Date };
export type Verification = { ok: true; claims: SecurityUserClaims } | { ok: false; detail: string };

export async function issueSecurityUser(
  agent: { agentId: string; businessUnitId: string },
  key: SigningKey,
  ttlSeconds: number,
  now: Date,
): Promise<{ securityUser: string; expiresAt: Date }> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSeconds;
  const securityUser = await new SignJWT({ bu: agent.businessUnitId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(agent.agentId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
  return { securityUser, expiresAt: new Date(exp * 1000) };
}

export async function verifySecurityUser(token: string | undefined, key: SigningKey, now: Date): Promise<Verification> {
  if (token === undefined || token.trim() === '') return { ok: false, detail: 'SecurityUser is missing' };
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return { ok: false, detail: 'SecurityUser is malformed' };
  try {
    const { payload } = await jwtVerify(token, key, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      currentDate: now,
      requiredClaims: ['sub', 'exp'],
    });
    const agentId = payload.sub;
    const businessUnitId = payload['bu'];
    if (typeof agentId !== 'string' || typeof businessUnitId !== 'string' || payload.exp === undefined) {
      return { ok: false, detail: 'SecurityUser names no agent' };
    }
    return { ok: true, claims: { agentId, businessUnitId, expiresAt: new Date(payload.exp * 1000) } };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, detail: 'SecurityUser has expired' };
    if (error instanceof errors.JWSSignatureVerificationFailed) return { ok: false, detail: 'SecurityUser signature is invalid' };
    if (error instanceof errors.JOSEError) return { ok: false, detail: `SecurityUser is invalid: ${error.code}` };
    throw error;
  }
}

/** The caller as the directory sees it now: an agent deactivated after issue is no longer a valid security user. */
export function authenticate(verification: Verification, agent: Agent | undefined, profile: SecurityProfile | undefined): Caller {
  if (!verification.ok) return { kind: 'Unauthenticated', detail: verification.detail };
  const { agentId, businessUnitId } = verification.claims;
  const known = { agentId, businessUnitId };
  if (!agent) return { kind: 'Unauthenticated', detail: `SecurityUser names unknown agent ${agentId}`, ...known };
  if (!agent.active) return { kind: 'Unauthenticated', detail: `Agent ${agentId} is inactive`, ...known };
  if (agent.businessUnitId !== businessUnitId) {
    return { kind: 'Unauthenticated', detail: `Agent ${agentId} no longer belongs to business unit ${businessUnitId}`, ...known };
  }
  return { kind: 'Agent', agentId, businessUnitId, permissions: profile ? [...profile.permissions] : [] };
}
