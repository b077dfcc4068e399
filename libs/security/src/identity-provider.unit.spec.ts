import { randomBytes } from 'node:crypto';
import { errors, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  identityProviderClaims,
  identityProviderRefusal,
  IdentityProviderUnreachableError,
  securityUserIssuer,
} from './identity-provider.js';

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const withHeader = (header: object): string => `${b64url(header)}.${b64url({ sub: 'ada' })}.c2ln`;

describe('securityUserIssuer: which verifier a token goes to, by its header', () => {
  it.each(['HS256', 'HS384', 'HS512'])('%s: the key ring', (alg) => {
    expect(securityUserIssuer(withHeader({ alg, kid: 'k1' }))).toBe('key-ring');
  });

  it.each(['RS256', 'ES256', 'EdDSA', 'PS512', 'none'])('%s: the identity provider (which refuses none)', (alg) => {
    expect(securityUserIssuer(withHeader({ alg, kid: 'k1' }))).toBe('identity-provider');
  });

  it.each(['a.b.c', 'not-a-token', withHeader({ kid: 'k1' }), withHeader({ alg: 7 })])(
    'a header that cannot be read, or has no alg: the key ring, which refuses it (%s)',
    (token) => expect(securityUserIssuer(token)).toBe('key-ring'),
  );

  it('real tokens: an HS256 one and an RS256 one', async () => {
    const hs = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(randomBytes(32)));
    const { privateKey } = await generateKeyPair('ES256');
    const es = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    expect([securityUserIssuer(hs), securityUserIssuer(es)]).toEqual(['key-ring', 'identity-provider']);
  });
});

describe('identityProviderClaims: the agent the configured claim names, and the expiry', () => {
  it('reads the configured claim, and no business unit', () => {
    expect(identityProviderClaims({ sub: 'x', oid: 'ada', exp: 1_800_000_000 }, 'oid')).toStrictEqual({
      agentId: 'ada',
      expiresAt: new Date(1_800_000_000_000),
    });
  });

  it.each<Record<string, unknown>>([
    { exp: 1_800_000_000 },
    { sub: '', exp: 1_800_000_000 },
    { sub: 7, exp: 1_800_000_000 },
    { sub: 'ada' },
  ])('names no agent: %j', (payload) => expect(identityProviderClaims(payload, 'sub')).toBeUndefined());
});

describe('identityProviderRefusal: the wording of each refusal', () => {
  const claim = (name: string) => new errors.JWTClaimValidationFailed('unexpected', {}, name, 'check_failed');
  it.each<[unknown, string | undefined]>([
    [new errors.JWTExpired('expired', {}), 'SecurityUser has expired'],
    [claim('iss'), 'SecurityUser comes from another issuer'],
    [claim('aud'), 'SecurityUser is meant for another audience'],
    [claim('nbf'), 'SecurityUser is invalid: ERR_JWT_CLAIM_VALIDATION_FAILED (nbf)'],
    [new errors.JOSEAlgNotAllowed(), 'SecurityUser is signed with an algorithm this service does not accept'],
    [new errors.JWSSignatureVerificationFailed(), 'SecurityUser signature is invalid'],
    [new errors.JWKSNoMatchingKey(), 'SecurityUser names no signing key of the identity provider'],
    [
      new IdentityProviderUnreachableError(),
      'SecurityUser names a signing key the identity provider could not be asked about: it is unreachable',
    ],
    [new errors.JWSInvalid(), 'SecurityUser is invalid: ERR_JWS_INVALID'],
    [new TypeError('a bug'), undefined],
  ])('%s', (error, detail) => expect(identityProviderRefusal(error)).toBe(detail));
});
