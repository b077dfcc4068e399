/**
 * SecurityUsers from the company's identity provider (docs/operations.md, "Pointing the service at an identity
 * provider"): its published keys fetched and kept (`IdentityProviderKeys`), tokens verified against them and the
 * configured issuer, audience and algorithms (`IdentityProviderVerifier`), and the Nest provider the directory and
 * /health share (`IdentityProvider`). What a verified token means is decided in libs/security, as for the key ring.
 *
 * The keys: jose's remote key set fetches them, refreshes them when they are older than the maximum age or a token
 * names an unknown `kid` (at most once per cooldown after a successful fetch), and coalesces concurrent fetches.
 * Around it, for when the provider does not answer (docs/decisions.md, "Identity provider keys"): the last good key
 * set keeps verifying, and after a failed fetch no other is tried for a cooldown, whatever the tokens name.
 */
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  jwtVerify,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import {
  identityProviderClaims,
  identityProviderRefusal,
  IdentityProviderUnreachableError,
  type SecurityUserClaims,
  type Verification,
} from '#security';
import type { AppConfig, IdentityProviderConfig } from '../config/configuration.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { APP_CONFIG, LOGGER } from '../infrastructure/tokens.js';

/** What /health says of the identity provider: its keys still verify while it is unreachable, so it never fails health. */
export type IdentityProviderHealth = {
  status: 'up';
  /** `up`: the last fetch of the key set succeeded; `unreachable`: it failed, the last good key set (if any) serves. */
  state: 'not yet asked' | 'up' | 'unreachable';
  /** When the key set was last fetched successfully. */
  lastRefresh?: string;
  /** Since when the provider has not answered, and why. */
  since?: string;
  error?: string;
  keys: number;
};

type KeySet = { jwks: JSONWebKeySet; find: ReturnType<typeof createLocalJWKSet> };
type KeyLookup = ReturnType<ReturnType<typeof createLocalJWKSet>>;

/** The identity provider's published keys, fetched, refreshed on rotation, and kept while it does not answer. */
export class IdentityProviderKeys {
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  private lastGood: KeySet | undefined;
  private lastRefresh: Date | undefined;
  /** While the provider is unreachable: when that began, and why. */
  private failure: { since: Date; error: string } | undefined;
  /** When the last request was made, answered or not. */
  private triedAt = 0;
  /** Moves at every successful fetch: a token verified before it is verified again (its key may be gone). */
  generation = 0;
  /** Requests made to the provider (the tests count them). */
  requests = 0;

  constructor(
    private readonly config: Pick<IdentityProviderConfig, 'jwksUrl' | 'timeoutMs' | 'cooldownMs' | 'cacheMaxAgeMs'>,
    /** Told when the provider stops answering, and when it answers again. */
    private readonly onChange: (health: IdentityProviderHealth) => void = () => undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.remote = createRemoteJWKSet(new URL(config.jwksUrl), {
      timeoutDuration: config.timeoutMs,
      cooldownDuration: config.cooldownMs,
      cacheMaxAge: config.cacheMaxAgeMs,
      [customFetch]: this.fetchKeys,
    });
  }

  /** The key a token's header names, for jose's verification. */
  readonly keyFor = async (header: JWSHeaderParameters, token: FlattenedJWSInput): KeyLookup => {
    // After a failed fetch, no request until the cooldown passed: the last good keys answer, fast.
    if (this.failure !== undefined && Date.now() < this.triedAt + this.config.cooldownMs)
      return this.fromLastGood(header, token);
    try {
      return await this.remote(header, token);
    } catch (error) {
      if (this.failure !== undefined) return this.fromLastGood(header, token);
      throw error;
    }
  };

  /** Whether the key set held is younger than the maximum age (else the next verification fetches it again). */
  get fresh(): boolean {
    return this.remote.fresh;
  }

  /** Fetches the key set now (at start: the first tokens need not wait), whatever the cooldown; never throws. */
  async refresh(): Promise<void> {
    await this.remote.reload().catch(() => undefined);
  }

  health(): IdentityProviderHealth {
    return {
      status: 'up',
      state: this.failure !== undefined ? 'unreachable' : this.lastRefresh !== undefined ? 'up' : 'not yet asked',
      ...(this.lastRefresh !== undefined ? { lastRefresh: this.lastRefresh.toISOString() } : {}),
      ...(this.failure !== undefined ? { since: this.failure.since.toISOString(), error: this.failure.error } : {}),
      keys: this.lastGood?.jwks.keys.length ?? 0,
    };
  }

  private async fromLastGood(header: JWSHeaderParameters, token: FlattenedJWSInput): KeyLookup {
    if (this.lastGood === undefined) throw new IdentityProviderUnreachableError(this.failure?.error);
    try {
      return await this.lastGood.find(header, token);
    } catch (error) {
      // A key the last good set does not hold may be a new one the provider could not be asked about.
      if (error instanceof errors.JWKSNoMatchingKey) throw new IdentityProviderUnreachableError(this.failure?.error);
      throw error;
    }
  }

  /**
   * Every request jose makes goes through here: the answer is checked to be a key set before jose sees it, so that
   * a success or a failure is known here, with the set it gave.
   */
  private readonly fetchKeys: FetchImplementation = async (url, options) => {
    this.requests += 1;
    this.triedAt = Date.now();
    try {
      const response = await this.fetchImpl(url, options);
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`the key set URL answered ${response.status}`);
      }
      const text = await response.text();
      const jwks = JSON.parse(text) as JSONWebKeySet;
      const find = createLocalJWKSet(jwks);
      this.lastGood = { jwks, find };
      this.lastRefresh = new Date();
      const recovered = this.failure !== undefined;
      this.failure = undefined;
      this.generation += 1;
      if (recovered) this.onChange(this.health());
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (error) {
      const first = this.failure === undefined;
      this.failure = { since: this.failure?.since ?? new Date(), error: describeFailure(error, this.config.timeoutMs) };
      if (first) this.onChange(this.health());
      throw error;
    }
  };
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  // fetch's own error says "fetch failed"; the reason (ECONNREFUSED, a certificate, a name) is its cause.
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}

/** Verified identity provider SecurityUsers kept by their text, as the key ring's are (verified-security-users.ts). */
const REMEMBERED = 10_000;

/** Verifies a SecurityUser against the identity provider's keys and the configured policy. */
export class IdentityProviderVerifier {
  /** Insertion order is recency order; an entry holds while its key set generation is the current one. */
  private readonly remembered = new Map<string, { claims: SecurityUserClaims; generation: number }>();

  constructor(
    private readonly config: IdentityProviderConfig,
    readonly keys = new IdentityProviderKeys(config),
  ) {}

  async verify(token: string, now: Date): Promise<Verification> {
    const hit = this.remembered.get(token);
    if (hit !== undefined) {
      this.remembered.delete(token);
      // Kept only while the key set it was verified with is the current one and young enough: a key removed from
      // the provider's set takes its tokens with it at the next refresh, remembered or not.
      if (hit.generation === this.keys.generation && this.keys.fresh && now < hit.claims.expiresAt) {
        this.remembered.set(token, hit);
        return { ok: true, claims: hit.claims };
      }
    }
    try {
      const { payload } = await jwtVerify(token, this.keys.keyFor, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: [...this.config.algorithms],
        currentDate: now,
        requiredClaims: ['exp'],
        // The provider's clock and this one may differ by a little: a token just issued is not "not yet valid".
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      const claims = identityProviderClaims(payload, this.config.agentClaim);
      if (claims === undefined)
        return { ok: false, detail: `SecurityUser names no agent (claim ${this.config.agentClaim})` };
      this.remembered.set(token, { claims, generation: this.keys.generation });
      if (this.remembered.size > REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
      return { ok: true, claims };
    } catch (error) {
      const detail = identityProviderRefusal(error);
      if (detail === undefined) throw error;
      return { ok: false, detail };
    }
  }
}

/** Seconds the provider's clock may be ahead of (`nbf`) or behind (`exp`) this one. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** The identity provider of this deployment, when SECURITY_USER_JWKS_URL names one: the directory's and /health's. */
@Injectable()
export class IdentityProvider implements OnApplicationBootstrap {
  readonly verifier: IdentityProviderVerifier | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Inject(LOGGER) logger: AppLogger) {
    const provider = config.identityProvider;
    // Logged when it changes, not at every failed request: /health tells the state at any time.
    const onChange = (health: IdentityProviderHealth): void =>
      health.state === 'unreachable'
        ? logger.warn(
            { identityProvider: health },
            'identity provider unreachable: its last good keys keep verifying, tokens naming other keys are refused',
          )
        : logger.info({ identityProvider: health }, 'identity provider answering again');
    this.verifier = provider
      ? new IdentityProviderVerifier(provider, new IdentityProviderKeys(provider, onChange))
      : undefined;
  }

  onApplicationBootstrap(): void {
    void this.verifier?.keys.refresh();
  }

  health(): IdentityProviderHealth | undefined {
    return this.verifier?.keys.health();
  }
}
