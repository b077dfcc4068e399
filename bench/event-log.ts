/**
 * A realistic contact-center log, shaped like the real events (libs/contacts/src/events.ts,
 * libs/security/src/events.ts) with the metadata every command writes: the security directory first, then
 * contacts starting and ending interleaved, refusals in the per-day audit streams, and a directory change now and
 * then. Deterministic (seeded), so two runs replay the same log, but for the event IDs: UUID v7, time-ordered, as the
 * service writes them (apps/orchestrator/src/infrastructure/event-ids.ts), so the unique index on event IDs grows at
 * its right edge (2,000,000 events written in 43 s instead of 118 s with random v4 IDs, and v4 slows as the log grows).
 */
import { randomUUID } from 'node:crypto';
import { v7 } from 'uuid';
import { MEDIA_TYPES } from '#contacts';
import type { EventMetadata } from '#event-store';
import { seededRandom as random } from '../test/harness/random.js';

/** One row of the events table, before its position (the store assigns it). */
export interface LogEvent {
  id: string;
  streamId: string;
  revision: number;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recordedAt: string;
}

const SOURCES = ['http', 'studio-action', 'kafka'] as const;
const BUSINESS_UNITS = 4;
const AGENTS = 200;
const PROFILES = [
  { profileId: 'ender', name: 'Agents who end contacts', permissions: ['Contacts.End', 'Contacts.View'] },
  { profileId: 'viewer', name: 'Supervisors', permissions: ['Contacts.View'] },
  { profileId: 'auditor', name: 'Auditors', permissions: ['Audit.Read'] },
];
// Contacts live for a while: about this many are active at once, so ends interleave with starts like in real use.
const ACTIVE_TARGET = 5_000;

function metadata(pick: () => number, source?: EventMetadata['source']): EventMetadata {
  const commandId = randomUUID();
  return {
    commandId,
    correlationId: commandId,
    causationId: commandId,
    source: source ?? SOURCES[Math.floor(pick() * SOURCES.length)]!,
    schemaVersion: 1,
  };
}

type Active = { contactId: string; businessUnitId: string; mediaType: string };

/** Yields `count` events in log order. */
export function* realisticLog(count: number, seed = 7): Generator<LogEvent> {
  const pick = random(seed);
  let clock = Date.parse('2026-11-02T06:00:00Z');
  const at = (): string => new Date((clock += 5 + Math.floor(pick() * 40))).toISOString();
  const revisions = new Map<string, number>();
  const event = (streamId: string, type: string, data: Record<string, unknown>, meta: EventMetadata): LogEvent => {
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    return { id: v7(), streamId, revision, type, data, metadata: meta, recordedAt: at() };
  };
  const agent = (i: number, type: string, active = true): LogEvent =>
    event(
      `agent-agent-${i}`,
      type,
      {
        agentId: `agent-${i}`,
        businessUnitId: `bu-${i % BUSINESS_UNITS}`,
        securityProfileId: i % 10 === 0 ? 'viewer' : 'ender',
        active,
      },
      metadata(pick, 'http'),
    );

  let emitted = 0;
  for (const profile of PROFILES) {
    if (emitted++ >= count) return;
    yield event(`security-profile-${profile.profileId}`, 'SecurityProfileDefined', profile, metadata(pick, 'http'));
  }
  for (let i = 0; i < AGENTS; i++) {
    if (emitted++ >= count) return;
    yield agent(i, 'AgentRegistered');
  }

  const active: Active[] = [];
  const ended: string[] = [];
  let nextContact = 1_000_000_000;
  while (emitted++ < count) {
    const roll = pick();
    const startWeight = active.length < ACTIVE_TARGET ? 0.55 : 0.45;
    if (roll < 0.0005) {
      const i = Math.floor(pick() * AGENTS);
      yield agent(i, pick() < 0.8 ? 'AgentUpdated' : 'AgentDeactivated', pick() < 0.8);
    } else if (roll < startWeight || active.length === 0) {
      const contact = {
        contactId: String(nextContact++),
        businessUnitId: `bu-${Math.floor(pick() * BUSINESS_UNITS)}`,
        mediaType: MEDIA_TYPES[Math.floor(pick() * MEDIA_TYPES.length)]!,
      };
      active.push(contact);
      const startedAt = new Date(clock).toISOString();
      yield event(
        `contact-${contact.contactId}`,
        'ContactStarted',
        { ...contact, skill: `skill-${Math.floor(pick() * 40)}`, startedAt },
        metadata(pick, 'http'),
      );
    } else if (roll < 0.88) {
      // Swap-remove a random active contact: O(1), and the order of ends is not the order of starts.
      const index = Math.floor(pick() * active.length);
      const contact = active[index]!;
      active[index] = active[active.length - 1]!;
      active.pop();
      ended.push(contact.contactId);
      if (ended.length > 10_000) ended.splice(0, 5_000);
      const agentId = `agent-${Math.floor(pick() * AGENTS)}`;
      yield event(
        `contact-${contact.contactId}`,
        'ContactEnded',
        { ...contact, endedBy: agentId, disconnectReason: 'TerminateScript', endedAt: new Date(clock).toISOString() },
        metadata(pick),
      );
    } else {
      yield refusal(event, pick, clock, ended);
    }
  }
}

/** An EndContactRejected in the day's audit stream: mostly ends of contacts already ended, some unauthorised. */
function refusal(
  event: (streamId: string, type: string, data: Record<string, unknown>, meta: EventMetadata) => LogEvent,
  pick: () => number,
  clock: number,
  ended: readonly string[],
): LogEvent {
  const rejectedAt = new Date(clock).toISOString();
  const streamId = `end-contact-rejections-${rejectedAt.slice(0, 10)}`;
  const contactId = ended.length > 0 ? ended[Math.floor(pick() * ended.length)]! : '42';
  const agentNumber = Math.floor(pick() * AGENTS);
  const businessUnitId = `bu-${agentNumber % BUSINESS_UNITS}`;
  const kind = pick();
  if (kind < 0.6) {
    return event(
      streamId,
      'EndContactRejected',
      {
        contactId,
        reason: 'InvalidContactID',
        detail: `Contact ${contactId} is not active`,
        agentId: `agent-${agentNumber}`,
        businessUnitId,
        rejectedAt,
      },
      metadata(pick),
    );
  }
  if (kind < 0.85) {
    return event(
      streamId,
      'EndContactRejected',
      {
        contactId,
        reason: 'Unauthorized',
        detail: `Agent agent-${agentNumber} lacks permission Contacts.End`,
        agentId: `agent-${agentNumber}`,
        businessUnitId,
        rejectedAt,
      },
      metadata(pick),
    );
  }
  return event(
    streamId,
    'EndContactRejected',
    { contactId, reason: 'InvalidSecurityUser', detail: 'SecurityUser expired', rejectedAt },
    metadata(pick),
  );
}

/** `count` outcome events only (ContactEnded, some EndContactRejected), in log order, streams as in the log. */
export function* outcomeEvents(count: number, seed = 11): Generator<LogEvent> {
  let produced = 0;
  for (const event of realisticLog(Number.MAX_SAFE_INTEGER, seed)) {
    if (event.type !== 'ContactEnded' && event.type !== 'EndContactRejected') continue;
    yield event;
    if (++produced >= count) return;
  }
}

/**
 * The soak's log: a directory of `agents` agents (business unit `bu-{i % businessUnits}`, profile `ender`: End, View
 * and Audit.Read), then `contacts` contacts started and never ended (contact j in `bu-{j % businessUnits}`, ID
 * `firstContact + j`). Agents and contacts of business unit k are those with i % businessUnits === k.
 */
export function* activeContactsLog(
  contacts: number,
  agents: number,
  businessUnits: number,
  firstContact: number,
  seed = 13,
): Generator<LogEvent> {
  const pick = random(seed);
  let clock = Date.parse('2026-11-02T06:00:00Z');
  const at = (): string => new Date((clock += 1 + Math.floor(pick() * 4))).toISOString();
  const event = (streamId: string, type: string, data: Record<string, unknown>): LogEvent => ({
    id: v7(),
    streamId,
    revision: 0,
    type,
    data,
    metadata: metadata(pick, 'http'),
    recordedAt: at(),
  });
  yield event('security-profile-ender', 'SecurityProfileDefined', {
    profileId: 'ender',
    name: 'Agents',
    permissions: ['Audit.Read', 'Contacts.End', 'Contacts.View'],
  });
  for (let i = 0; i < agents; i++) {
    yield event(`agent-agent-${i}`, 'AgentRegistered', {
      agentId: `agent-${i}`,
      businessUnitId: `bu-${i % businessUnits}`,
      securityProfileId: 'ender',
      active: true,
    });
  }
  for (let j = 0; j < contacts; j++) {
    const contactId = String(firstContact + j);
    const startedAt = new Date(clock).toISOString();
    yield event(`contact-${contactId}`, 'ContactStarted', {
      contactId,
      businessUnitId: `bu-${j % businessUnits}`,
      mediaType: MEDIA_TYPES[Math.floor(pick() * MEDIA_TYPES.length)]!,
      skill: `skill-${Math.floor(pick() * 40)}`,
      startedAt,
    });
  }
}
