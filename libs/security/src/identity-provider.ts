/**
 * SecurityUsers issued by the company's identity provider (OIDC: Entra ID, Okta, Keycloak, Ping), signed with an
 * asymmetric key it publishes at a JWKS URL, beside the service's own HS256 key ring (docs/security.md). What is pure
 * lives here: which algorithms may be accepted, which verifier a token goes to (by its header), the claims a
 * verified payload gives, and the wording of each refusal. Fetching the keys and checking the signature is the
 * app's (apps/orchestrator/src/directory/identity-provider.ts): this module does no I/O.
 */
import { decodeProtectedHeader, errors, type JWTPayload } from 'jose';
import type { SecurityUserClaims } from './credentials.js';

/**
 * The asymmetric JWS algorithms an identity provider's SecurityUser may be signed with. Never `none`, never an HMAC:
 * a public key is public, and a token "signed" with it proves nothing.
 */
export const IDENTITY_PROVIDER_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type IdentityProviderAlgorithm = (typeof IDENTITY_PROVIDER_ALGORITHMS)[number];
export const DEFAULT_IDENTITY_PROVIDER_ALGORITHMS: readonly IdentityProviderAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

/** What an identity provider's SecurityUser must say, beside a signature by one of its published keys. */
export type IdentityProviderPolicy = {
  issuer: string;
  audience: string;
  /** The claim naming the agent (`sub` unless configured). */
  agentClaim: string;
  algorithms: readonly IdentityProviderAlgorithm[];
};

/**
 * Which verifier a well-formed SecurityUser goes to, by the `alg` of its header: an HMAC one (or one whose header
 * cannot be read) to the key ring, which gives the refusal; any other (`none` included, which the identity
 * provider's verifier refuses) to the identity provider. No token is ever checked by both.
 */
export function securityUserIssuer(token: string): 'key-ring' | 'identity-provider' {
  try {
    const { alg } = decodeProtectedHeader(token);
    return typeof alg === 'string' && !alg.startsWith('HS') ? 'identity-provider' : 'key-ring';
  } catch {
    return 'key-ring';
  }
}

/**
 * The claims of a verified payload: the agent the configured claim names (a non-empty string) and the expiry. The
 * identity provider knows no business unit: the agent's, as the directory has it, is the one (`authenticate`).
 */
export function identityProviderClaims(payload: JWTPayload, agentClaim: string): SecurityUserClaims | undefined {
  const agentId = payload[agentClaim];
  if (typeof agentId !== 'string' || agentId === '' || typeof payload.exp !== 'number') return undefined;
  return { agentId, expiresAt: new Date(payload.exp * 1000) };
}

/** The identity provider did not answer and the token names a key the last key set it gave does not hold. */
export class IdentityProviderUnreachableError extends Error {
  override readonly name = 'IdentityProviderUnreachableError';
}

/** The refusal's detail for what verifying an identity provider's SecurityUser threw, or undefined: not a refusal. */
export function identityProviderRefusal(error: unknown): string | undefined {
  if (error instanceof IdentityProviderUnreachableError)
    return 'SecurityUser names a signing key the identity provider could not be asked about: it is unreachable';
  if (error instanceof errors.JWTExpired) return 'SecurityUser has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'SecurityUser comes from another issuer';
    if (error.claim === 'aud') return 'SecurityUser is meant for another audience';
    return `SecurityUser is invalid: ${error.code} (${error.claim})`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'SecurityUser is signed with an algorithm this service does not accept';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'SecurityUser signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return 'SecurityUser names no signing key of the identity provider';
  if (error instanceof errors.JOSEError) return `SecurityUser is invalid: ${error.code}`;
  return undefined;
}
