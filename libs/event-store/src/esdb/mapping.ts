/**
 * Between the port's shapes and @eventstore/db-client's: events to append, events read back, expected
 * revisions, and the server-side filter that keeps system events ($-prefixed types) out.
 */
import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type EventData,
  type RegexFilter,
  type ResolvedEvent,
} from '@eventstore/db-client';
import type { EventMetadata, EventToAppend, ExpectedRevision, RecordedEvent } from '../port.js';
import { UNKNOWN_LOG_POSITION, encodePosition } from './position.js';

export function toAppendExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (expected < 0n) throw new RangeError(`Expected revision must be >= 0, got ${expected}`);
      return expected;
  }
}

/**
 * A JSON event with the writer's own ID and its metadata as JSON. Data and metadata are serialised here first:
 * the client serialises inside an async Promise executor, where a throw (a bigint, a cycle) is an unhandled
 * rejection and the append never settles.
 */
export function toEventData(event: EventToAppend): EventData {
  assertJson(event, 'data', event.data);
  assertJson(event, 'metadata', event.metadata);
  return jsonEvent({ id: event.id, type: event.type, data: event.data, metadata: event.metadata });
}

function assertJson(event: EventToAppend, part: 'data' | 'metadata', value: unknown): void {
  try {
    JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `Event ${event.type} (${event.id}): ${part} cannot be written as JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

export const isSystemEventType = (type: string): boolean => type.startsWith('$');

/** Not the service's: a system type, or any event of a `$` stream (projections, categories, stats), whatever its type. */
export const isSystemEvent = (event: { type: string; streamId: string }): boolean =>
  isSystemEventType(event.type) || event.streamId.startsWith('$');

/** Server-side filter for $all subscriptions: event types not starting with `$` (the client's own regex). */
export function userEventsFilter(): RegexFilter {
  return excludeSystemEvents();
}

/**
 * A client event as the port's RecordedEvent; undefined when the resolved event carries no event (a link to
 * a deleted event). Throws when the server gave no log position (servers before 22.6 on stream reads).
 */
export function toRecordedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  if (event === undefined) return undefined;
  const position = event.position;
  if (position === undefined || position.commit === UNKNOWN_LOG_POSITION) {
    throw new Error(
      `EventStoreDB gave no log position for event ${event.id} of ${event.streamId}; a server 22.6 or later is required`,
    );
  }
  return {
    id: event.id,
    streamId: event.streamId,
    type: event.type,
    data: toJsonObject(event.data),
    // Our writers always put EventMetadata here; events written by others carry what they carry.
    metadata: toJsonObject(event.metadata) as EventMetadata,
    revision: event.revision,
    position: encodePosition(position),
    recordedAt: event.created,
  };
}

/**
 * Data and metadata as a JSON object. The client parses JSON itself, so an object arrives as an object;
 * bytes arrive when the content was binary or did not parse, and are parsed here as UTF-8 JSON if they can be.
 */
export function toJsonObject(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (value instanceof Uint8Array) {
    if (value.length === 0) return {};
    return fromText(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  }
  if (typeof value === 'string') return fromText(value);
  if (isPlainObject(value)) return value;
  return { value };
}

function fromText(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { raw: text };
  }
  return isPlainObject(parsed) ? parsed : { value: parsed };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
