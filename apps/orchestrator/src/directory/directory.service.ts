/**
 * The security directory, application side: administration commands, SetSecurityUser, and authentication of a
 * SecurityUser against the directory as it is *now* (its streams, not a lagging view; a folded entry is reused only
 * while its streams' newest position is unchanged).
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import {
  WrongExpectedRevisionError,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type RecordedEvent,
} from '#event-store';
import {
  agentStreamId,
  authenticate,
  decideDefineProfile,
  decidePutAgent,
  foldAgent,
  foldProfile,
  issueSecurityUser,
  keyRing,
  securityProfileStreamId,
  securityUserIssuer,
  VerifiedSecurityUsers,
  type Agent,
  type Caller,
  type KeyRing,
  type Verification,
  type AgentEvent,
  type DirectoryEvent,
  type SecurityProfile,
  type SecurityProfileDefined,
} from '#security';
import { retry } from '#runtime';
import type { AppConfig } from '../config/configuration.js';
import type { Secrets } from '../config/embedded-secrets.js';
import { asDomainEvents } from '../infrastructure/domain-events.js';
import type { StoreCapabilities } from '../infrastructure/event-store.provider.js';
import { APP_CONFIG, EVENT_STORE, SECRETS, STORE_CAPABILITIES } from '../infrastructure/tokens.js';
import { createSecretKey } from 'node:crypto';
import { newEventId } from '../infrastructure/event-ids.js';
import { IdentityProvider } from './identity-provider.js';

export class UnknownAgentError extends Error {}
export class InactiveAgentError extends Error {}

const MAX_ATTEMPTS = 5;
/** Directory entries kept between commands (agent and profile as folded), the least recently used forgotten first. */
const MAX_ENTRIES = 10_000;

/** An agent and its profile as folded from their streams, and the newest position those streams had then. */
type DirectoryEntry = {
  agent: Agent | undefined;
  profile: SecurityProfile | undefined;
  streams: string[];
  position: bigint | undefined;
};
const PROFILE_EVENTS = ['SecurityProfileDefined'] as const;
const AGENT_EVENTS = ['AgentRegistered', 'AgentUpdated', 'AgentDeactivated'] as const;

@Injectable()
export class DirectoryService {
  private readonly ring: KeyRing;
  private readonly verified: VerifiedSecurityUsers;
  private readonly entries = new LRUCache<string, DirectoryEntry>({ max: MAX_ENTRIES });
  /** Lookups made in this turn of the event loop, by entry: whether its streams were unchanged (see `entryOf`). */
  private readonly lookedUpThisTurn = new Map<DirectoryEntry, Promise<boolean>>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SECRETS) secrets: Secrets,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(STORE_CAPABILITIES) private readonly capabilities: Pick<StoreCapabilities, 'newestPositionOf'>,
    @Optional() private readonly identityProvider?: IdentityProvider,
  ) {
    // The newest key signs, every key verifies; no token is accepted longer than the TTL after its issue.
    this.ring = keyRing(
      secrets.securityUserSigningKeys.map(({ kid, secret }) => ({
        kid,
        key: createSecretKey(Buffer.from(secret, 'utf8')),
      })),
      config.securityUserTtlSeconds,
    );
    this.verified = new VerifiedSecurityUsers(this.ring);
  }

  async authenticate(securityUser: string | undefined, now = new Date()): Promise<Caller> {
    // The signature check is cached per SecurityUser; the directory below is read at every command.
    const verification = await this.verify(securityUser, now);
    if (!verification.ok) return authenticate(verification, undefined, undefined);
    const { agent, profile } = await this.entryOf(verification.claims.agentId);
    return authenticate(verification, agent, profile);
  }

  /**
   * A SecurityUser's signature, expiry and claims, by whoever signed it (docs/security.md): an asymmetric one goes
   * to the identity provider when one is configured, any other (HS256, or what cannot be read) to the key ring.
   */
  private verify(securityUser: string | undefined, now: Date): Promise<Verification> {
    const verifier = this.identityProvider?.verifier;
    if (
      verifier !== undefined &&
      securityUser !== undefined &&
      securityUserIssuer(securityUser) === 'identity-provider'
    )
      return verifier.verify(securityUser, now);
    return this.verified.verify(securityUser, now);
  }

  /**
   * The agent and its profile as they are now. Where the store can tell the newest position of their two streams
   * cheaply (one index lookup, every process's writes included), the folded entry is reused while that position is
   * unchanged; otherwise, or when it moved, both streams are read and folded again.
   *
   * One lookup serves every command handled in the same turn of the event loop: those commands were all received
   * before it (their sockets were ready when the turn began), so each is still checked against the directory as it
   * was after its arrival. Under load that turns one lookup per command into one per turn.
   */
  private async entryOf(agentId: string): Promise<DirectoryEntry> {
    const cached = this.entries.get(agentId);
    if (cached && (await this.unchanged(cached))) return cached;
    const agentEvents = await this.store.readStream(agentStreamId(agentId));
    const agent = foldAgent(asDomainEvents<AgentEvent>(agentEvents, AGENT_EVENTS));
    const profileEvents = agent?.active
      ? await this.store.readStream(securityProfileStreamId(agent.securityProfileId))
      : [];
    const profile = agent?.active
      ? foldProfile(asDomainEvents<SecurityProfileDefined>(profileEvents, PROFILE_EVENTS))
      : undefined;
    // Stamped with what was read, not with a later lookup: a write after these reads always shows as a newer position.
    const entry: DirectoryEntry = {
      agent,
      profile,
      streams: agent?.active
        ? [agentStreamId(agentId), securityProfileStreamId(agent.securityProfileId)]
        : [agentStreamId(agentId)],
      position: newestOf([...agentEvents, ...profileEvents]),
    };
    if (this.capabilities.newestPositionOf) {
      // Only registers the entry as looked up this turn; the promise it hands back is the resolved one given here.
      void this.lookedUp(entry, Promise.resolve(true));
      this.entries.set(agentId, entry);
    }
    return entry;
  }

  /** Whether the entry's streams are where they were when it was folded: one lookup per entry and turn. */
  private unchanged(entry: DirectoryEntry): Promise<boolean> {
    const newestPositionOf = this.capabilities.newestPositionOf;
    if (!newestPositionOf) return Promise.resolve(false);
    return (
      this.lookedUpThisTurn.get(entry) ??
      this.lookedUp(
        entry,
        newestPositionOf(entry.streams).then((position) => position === entry.position),
      )
    );
  }

  private lookedUp(entry: DirectoryEntry, unchanged: Promise<boolean>): Promise<boolean> {
    if (this.lookedUpThisTurn.size === 0) setImmediate(() => this.lookedUpThisTurn.clear());
    this.lookedUpThisTurn.set(entry, unchanged);
    return unchanged;
  }

  /** The agent a SecurityUser names when its signature and expiry hold (the directory is not read). */
  async verifiedAgentId(securityUser: string, now = new Date()): Promise<string | undefined> {
    const verification = await this.verify(securityUser, now);
    return verification.ok ? verification.claims.agentId : undefined;
  }

  async putProfile(command: SecurityProfile, metadata: EventMetadata): Promise<SecurityProfile> {
    return this.withRetry(async () => {
      const events = asDomainEvents<SecurityProfileDefined>(
        await this.store.readStream(securityProfileStreamId(command.profileId)),
        PROFILE_EVENTS,
      );
      const decided = decideDefineProfile(command, foldProfile(events));
      await this.appendIfAny(securityProfileStreamId(command.profileId), decided, expectedAfter(events), metadata);
      return foldProfile([...events, ...decided])!;
    });
  }

  async putAgent(command: Agent, metadata: EventMetadata): Promise<Agent> {
    return this.withRetry(async () => {
      const events = asDomainEvents<AgentEvent>(
        await this.store.readStream(agentStreamId(command.agentId)),
        AGENT_EVENTS,
      );
      const decided = decidePutAgent(command, foldAgent(events));
      await this.appendIfAny(agentStreamId(command.agentId), decided, expectedAfter(events), metadata);
      return foldAgent([...events, ...decided])!;
    });
  }

  /** SetSecurityUser: a credential for an active agent; the directory is checked again at every use. */
  async issue(
    agentId: string,
    now = new Date(),
  ): Promise<{ securityUser: string; agentId: string; businessUnitId: string; expiresAt: string }> {
    const agent = await this.loadAgent(agentId);
    if (!agent) throw new UnknownAgentError(`Agent ${agentId} not found`);
    if (!agent.active) throw new InactiveAgentError(`Agent ${agentId} is inactive`);
    const { securityUser, expiresAt } = await issueSecurityUser(
      agent,
      this.ring,
      this.config.securityUserTtlSeconds,
      now,
    );
    return { securityUser, agentId, businessUnitId: agent.businessUnitId, expiresAt: expiresAt.toISOString() };
  }

  private async loadAgent(agentId: string): Promise<Agent | undefined> {
    return foldAgent(asDomainEvents<AgentEvent>(await this.store.readStream(agentStreamId(agentId)), AGENT_EVENTS));
  }

  private async appendIfAny(
    streamId: string,
    events: DirectoryEvent[],
    expectedRevision: ExpectedRevision,
    metadata: EventMetadata,
  ): Promise<void> {
    if (events.length === 0) return;
    await this.store.append(
      streamId,
      events.map((e) => ({ id: newEventId(), type: e.type, data: e.data, metadata })),
      { expectedRevision },
    );
    // This process's own change is seen by the very next command, whatever turn it lands in.
    this.lookedUpThisTurn.clear();
  }

  /** A concurrent write to the same directory stream: read and decide again. */
  private withRetry<T>(attempt: () => Promise<T>): Promise<T> {
    return retry(attempt, { attempts: MAX_ATTEMPTS, retryOn: (error) => error instanceof WrongExpectedRevisionError });
  }
}

const newestOf = (events: ReadonlyArray<Pick<RecordedEvent, 'position'>>): bigint | undefined =>
  events.reduce<bigint | undefined>(
    (newest, e) => (newest === undefined || e.position > newest ? e.position : newest),
    undefined,
  );

const expectedAfter = (events: ReadonlyArray<Pick<RecordedEvent, 'revision'>>): ExpectedRevision =>
  events.length === 0 ? 'no_stream' : events[events.length - 1]!.revision;
