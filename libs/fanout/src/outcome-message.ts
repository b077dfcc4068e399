/**
 * The transform of the outcomes gateway: which stored events leave for Kafka, and the record each one becomes
 * (docs/design.md, Kafka). Pure: no kafkajs, no I/O, so the contract is tested without a broker.
 */
import type { ContactEnded, EndContactRejected } from '#contacts';
import type { EventMetadata, RecordedEvent } from '#event-store';

export type OutcomeEventType = ContactEnded['type'] | EndContactRejected['type'];

export const OUTCOME_EVENT_TYPES: readonly OutcomeEventType[] = ['ContactEnded', 'EndContactRejected'];

/** The JSON value of a `contact.outcomes` record; bigints travel as decimal strings. */
export interface OutcomeValue {
  eventId: string;
  type: OutcomeEventType;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  position: string;
  streamId: string;
  revision: string;
}

/** A record ready for kafkajs (`Message` is structurally compatible). */
export interface OutcomeMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

export const OUTCOME_HEADERS = {
  eventType: 'event-type',
  eventId: 'event-id',
  correlationId: 'correlation-id',
  /** The W3C trace context stored with the event (its metadata's `traceparent`, `tracestate`), for consumers. */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

export function isOutcome(
  event: Pick<RecordedEvent, 'type'>,
): event is Pick<RecordedEvent, 'type'> & { type: OutcomeEventType } {
  return (OUTCOME_EVENT_TYPES as readonly string[]).includes(event.type);
}

/**
 * The partition key: the contact ID, so every outcome of one contact lands on one partition in log order.
 * A refusal carries the ID as the caller gave it; when it has none at all, the stream ID keeps the key stable.
 */
export function outcomeKey(event: Pick<RecordedEvent, 'data' | 'streamId'>): string {
  const contactId = event.data['contactId'];
  if (typeof contactId === 'string' && contactId.length > 0) return contactId;
  if (typeof contactId === 'number' || typeof contactId === 'bigint') return String(contactId);
  return event.streamId;
}

/** The record for an outcome event; throws for any other type (callers filter with isOutcome first). */
export function toOutcomeMessage(event: RecordedEvent): OutcomeMessage {
  if (!isOutcome(event)) throw new TypeError(`${event.type} is not an outcome event`);
  const value: OutcomeValue = {
    eventId: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    position: event.position.toString(10),
    streamId: event.streamId,
    revision: event.revision.toString(10),
  };
  const headers: Record<string, string> = {
    [OUTCOME_HEADERS.eventType]: event.type,
    [OUTCOME_HEADERS.eventId]: event.id,
  };
  const correlationId = event.metadata?.correlationId;
  if (typeof correlationId === 'string' && correlationId.length > 0)
    headers[OUTCOME_HEADERS.correlationId] = correlationId;
  const { traceparent, tracestate } = event.metadata ?? {};
  if (typeof traceparent === 'string' && traceparent.length > 0) {
    headers[OUTCOME_HEADERS.traceparent] = traceparent;
    if (typeof tracestate === 'string' && tracestate.length > 0) headers[OUTCOME_HEADERS.tracestate] = tracestate;
  }
  return { key: outcomeKey(event), value: JSON.stringify(value), headers };
}
