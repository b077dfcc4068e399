import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '#event-store';
import { checkpointMessage, parseCheckpoint } from './checkpoint-topic.js';
import { isOutcome, OUTCOME_EVENT_TYPES, outcomeKey, toOutcomeMessage, type OutcomeValue } from './outcome-message.js';

const metadata = {
  commandId: 'cmd-1',
  correlationId: 'corr-1',
  causationId: 'cause-1',
  source: 'http' as const,
  schemaVersion: 1,
};

function recorded(
  overrides: Partial<RecordedEvent> & Pick<RecordedEvent, 'type' | 'data' | 'streamId'>,
): RecordedEvent {
  return {
    id: '7d0e2a0c-3f5e-4d8a-9b1c-2f6a1e0b9c11',
    metadata,
    revision: 1n,
    position: 42n,
    recordedAt: new Date('2025-01-02T03:04:05.000Z'),
    ...overrides,
  };
}

const ended = recorded({
  type: 'ContactEnded',
  streamId: 'contact-1234567',
  data: {
    contactId: '1234567',
    businessUnitId: 'bu-1',
    mediaType: 'Chat',
    endedBy: 'agent-9',
    disconnectReason: 'TerminateScript',
    endedAt: '2025-01-02T03:04:05.000Z',
  },
});

const rejected = recorded({
  id: '0f1e2d3c-4b5a-4968-8776-655443322110',
  type: 'EndContactRejected',
  streamId: 'end-contact-rejections-2025-01-02',
  revision: 12n,
  position: 18446744073709551617n,
  data: {
    contactId: '999',
    reason: 'Unauthorized',
    detail: 'no Contacts.End',
    agentId: 'agent-2',
    rejectedAt: '2025-01-02T03:04:05.000Z',
  },
});

describe('which events are outcomes', () => {
  it('forwards ContactEnded and EndContactRejected only', () => {
    expect(OUTCOME_EVENT_TYPES).toEqual(['ContactEnded', 'EndContactRejected']);
    expect(isOutcome(ended)).toBe(true);
    expect(isOutcome(rejected)).toBe(true);
    for (const type of [
      'ContactStarted',
      'EndContactRejectionsSuppressed',
      'SecurityProfileDefined',
      'AgentRegistered',
      'AgentUpdated',
      'AgentDeactivated',
      'contactended',
    ]) {
      expect(isOutcome({ type }), type).toBe(false);
    }
  });

  it('refuses to map an event that is not an outcome', () => {
    const started = recorded({ type: 'ContactStarted', streamId: 'contact-1', data: { contactId: '1' } });
    expect(() => toOutcomeMessage(started)).toThrow(/ContactStarted is not an outcome/);
  });
});

describe('the contact.outcomes record', () => {
  it('keys by contact ID so one contact stays on one partition in order', () => {
    expect(toOutcomeMessage(ended).key).toBe('1234567');
    // A refusal lives in the audit stream but is still keyed by the contact it named.
    expect(toOutcomeMessage(rejected).key).toBe('999');
  });

  it('keeps a malformed contact ID as given, and falls back to the stream ID when there is none', () => {
    expect(outcomeKey({ streamId: 's', data: { contactId: 'not-a-number' } })).toBe('not-a-number');
    expect(outcomeKey({ streamId: 's', data: { contactId: 12 } })).toBe('12');
    expect(outcomeKey({ streamId: 'end-contact-rejections-2025-01-02', data: { contactId: '' } })).toBe(
      'end-contact-rejections-2025-01-02',
    );
    expect(outcomeKey({ streamId: 'end-contact-rejections-2025-01-02', data: {} })).toBe(
      'end-contact-rejections-2025-01-02',
    );
  });

  it('carries the event as JSON with position and revision as decimal strings', () => {
    const value = JSON.parse(toOutcomeMessage(rejected).value) as OutcomeValue;
    expect(value).toEqual({
      eventId: rejected.id,
      type: 'EndContactRejected',
      data: rejected.data,
      metadata,
      position: '18446744073709551617',
      streamId: 'end-contact-rejections-2025-01-02',
      revision: '12',
    });
    expect(Object.keys(JSON.parse(toOutcomeMessage(ended).value) as object).sort()).toEqual([
      'data',
      'eventId',
      'metadata',
      'position',
      'revision',
      'streamId',
      'type',
    ]);
  });

  it('sets the event-type, event-id and correlation-id headers', () => {
    expect(toOutcomeMessage(ended).headers).toEqual({
      'event-type': 'ContactEnded',
      'event-id': ended.id,
      'correlation-id': 'corr-1',
    });
  });

  it('leaves out the correlation-id header when the metadata has none', () => {
    const bare = { ...ended, metadata: { ...metadata, correlationId: '' } };
    expect(toOutcomeMessage(bare).headers).toEqual({ 'event-type': 'ContactEnded', 'event-id': ended.id });
  });

  it('carries the trace context stored with the event as traceparent and tracestate headers', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = { ...ended, metadata: { ...metadata, traceparent, tracestate: 'vendor=1' } };
    expect(toOutcomeMessage(traced).headers).toMatchObject({ traceparent, tracestate: 'vendor=1' });
    const withoutState = { ...ended, metadata: { ...metadata, traceparent } };
    expect(toOutcomeMessage(withoutState).headers).toEqual({
      'event-type': 'ContactEnded',
      'event-id': ended.id,
      'correlation-id': 'corr-1',
      traceparent,
    });
  });
});

describe('the checkpoint record', () => {
  it('is keyed by forwarder name and round-trips the position', () => {
    const message = checkpointMessage('forwarder-a', 18446744073709551617n);
    expect(message.key).toBe('forwarder-a');
    expect(JSON.parse(String(message.value))).toEqual({ position: '18446744073709551617' });
    expect(parseCheckpoint(Buffer.from(String(message.value)))).toBe(18446744073709551617n);
  });

  it('reads a tombstone as no checkpoint and rejects a malformed one', () => {
    expect(parseCheckpoint(null)).toBeUndefined();
    expect(() => parseCheckpoint(Buffer.from('{"position":12}'))).toThrow(/Malformed checkpoint/);
  });
});
