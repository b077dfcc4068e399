/**
 * Verified SecurityUsers by their exact text, until they expire. An agent presents the same SecurityUser for many
 * commands, and its HS256 check through WebCrypto costs tens of microseconds; a hit costs a map lookup. Only
 * successful verifications are kept, so a forged or expired token is checked in full every time; the directory
 * (is the agent active now, which permissions) is still read at every use by the caller.
 */
import { verifySecurityUser, type SecurityUserClaims, type Verification } from './credentials.js';
import type { KeyRing } from './key-ring.js';

export class VerifiedSecurityUsers {
  /** Insertion order is recency order: a hit moves the entry to the end, the first entry is evicted first. */
  private readonly entries = new Map<string, SecurityUserClaims>();

  constructor(
    private readonly ring: KeyRing,
    private readonly capacity = 10_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  has(token: string): boolean {
    return this.entries.has(token);
  }

  async verify(token: string | undefined, now: Date): Promise<Verification> {
    if (token !== undefined) {
      const claims = this.entries.get(token);
      if (claims !== undefined) {
        this.entries.delete(token);
        if (now < claims.expiresAt) {
          this.entries.set(token, claims);
          return { ok: true, claims };
        }
      }
    }
    const verification = await verifySecurityUser(token, this.ring, now);
    if (verification.ok && token !== undefined) {
      this.entries.set(token, verification.claims);
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    return verification;
  }
}
