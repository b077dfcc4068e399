/**
 * The SecurityUser signing keys (HS256): a ring named by `kid`, newest first. The newest signs; every key in the
 * ring verifies, so a rotation (a new key in front, the old one kept behind it for one TTL) keeps the tokens
 * already issued valid until they expire. `maxTokenAgeSeconds` is the TTL: no token is accepted longer than that
 * after its issue, whatever its `exp` says.
 */
import type { KeyObject } from 'node:crypto';

/** The HS256 secret: raw bytes, or a KeyObject made once (saves importing the key at every verification). */
export type SigningKey = Uint8Array | KeyObject;
export type RingKey = { kid: string; key: SigningKey };
export type KeyRing = { readonly keys: readonly RingKey[]; readonly maxTokenAgeSeconds: number };

export const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function keyRing(keys: readonly RingKey[], maxTokenAgeSeconds: number): KeyRing {
  if (keys.length === 0) throw new Error('a key ring needs at least one key');
  const kids = new Set(keys.map((k) => k.kid));
  if (kids.size !== keys.length) throw new Error('a key ring names each kid once');
  for (const { kid } of keys)
    if (!KID_PATTERN.test(kid)) throw new Error(`kid ${JSON.stringify(kid)} must match ${KID_PATTERN}`);
  return { keys: [...keys], maxTokenAgeSeconds };
}

/** The key that signs new SecurityUsers: the newest. */
export const signingKeyOf = (ring: KeyRing): RingKey => ring.keys[0]!;

export const verificationKeyOf = (ring: KeyRing, kid: string | undefined): SigningKey | undefined =>
  kid === undefined ? undefined : ring.keys.find((k) => k.kid === kid)?.key;
