/**
 * The EventStoreDB adapter's pure parts: position packing, error mapping (with the client's own error classes),
 * event mapping, the system-event filter and expected revisions. The adapter itself meets the wire-level fault
 * harness in esdb-adapter.unit.spec.ts and esdb-faults.unit.spec.ts.
 */
import {
  ANY,
  AccessDeniedError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  STREAM_EXISTS,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
  convertToCommandError,
  type EventData,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AppendTooLargeError,
  EventStoreAccessDeniedError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  positionFromString,
  positionToString,
  type EventMetadata,
  type EventToAppend,
  type RecordedEvent,
} from '../port.js';
import { mayPoisonClient } from './client-holder.js';
import { isNotLeader, mapEsdbError, neverReachedServer } from './errors.js';
import {
  isSystemEvent,
  isSystemEventType,
  toAppendExpectedRevision,
  toEventData,
  toJsonObject,
  toRecordedEvent,
  userEventsFilter,
} from './mapping.js';
import { UNKNOWN_LOG_POSITION, decodePosition, encodePosition } from './position.js';

const U64_MAX = (1n << 64n) - 1n;
const compare = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
const metadata = (): EventMetadata => ({
  commandId: randomUUID(),
  correlationId: randomUUID(),
  causationId: randomUUID(),
  source: 'kafka',
  schemaVersion: 1,
  nested: { tags: ['a', 'b'], n: 1.5 },
});
const toAppend = (type: string, data: Record<string, unknown> = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: metadata(),
});

describe('position encoding', () => {
  it('round trips {commit, prepare} pairs, including both bounds', () => {
    const pairs: Position[] = [
      { commit: 0n, prepare: 0n },
      { commit: 1n, prepare: 0n },
      { commit: 0n, prepare: 1n },
      { commit: 123_456n, prepare: 123_456n },
      { commit: U64_MAX, prepare: U64_MAX },
      { commit: 2n ** 40n + 7n, prepare: 2n ** 63n },
    ];
    for (const pair of pairs) expect(decodePosition(encodePosition(pair))).toEqual(pair);
  });

  it('preserves the order of positions (commit first, then prepare)', () => {
    const values = [0n, 1n, 2n, 1_000n, 2n ** 32n, 2n ** 63n, U64_MAX - 1n, U64_MAX];
    const pairs: Position[] = values.flatMap((commit) => values.map((prepare) => ({ commit, prepare })));
    const byPair = [...pairs].sort((a, b) => compare(a.commit, b.commit) || compare(a.prepare, b.prepare));
    const byEncoded = [...pairs].sort((a, b) => compare(encodePosition(a), encodePosition(b)));
    expect(byEncoded).toEqual(byPair);
  });

  it('rejects values that do not fit in 64 bits, and bigints that are not a packed pair', () => {
    expect(() => encodePosition({ commit: 1n << 64n, prepare: 0n })).toThrow(RangeError);
    expect(() => encodePosition({ commit: 0n, prepare: 1n << 64n })).toThrow(RangeError);
    expect(() => encodePosition({ commit: -1n, prepare: 0n })).toThrow(RangeError);
    expect(() => encodePosition({ commit: 0n, prepare: -1n })).toThrow(RangeError);
    expect(() => decodePosition(-1n)).toThrow(RangeError);
    expect(() => decodePosition(1n << 128n)).toThrow(RangeError);
  });

  it("survives the port's decimal string form, even at the largest position", () => {
    const largest = encodePosition({ commit: U64_MAX, prepare: U64_MAX });
    expect(positionFromString(positionToString(largest))).toBe(largest);
  });
});

describe('error mapping', () => {
  const append = { operation: 'append to contact-1', streamId: 'contact-1', expectedRevision: 0n } as const;

  it('WrongExpectedVersionError becomes WrongExpectedRevisionError with the actual revision', () => {
    const error = new WrongExpectedVersionError(undefined, { streamName: 'contact-1', expected: 0n, current: 3n });
    const mapped = mapEsdbError(error, append);
    expect(mapped).toBeInstanceOf(WrongExpectedRevisionError);
    expect(mapped).toMatchObject({ streamId: 'contact-1', expected: 0n, actual: 3n });
  });

  it("a missing stream is actual 'no_stream'", () => {
    const error = new WrongExpectedVersionError(undefined, {
      streamName: 'contact-2',
      expected: 'stream_exists',
      current: 'no_stream',
    });
    expect(mapEsdbError(error, { operation: 'append' })).toMatchObject({
      streamId: 'contact-2',
      expected: 'stream_exists',
      actual: 'no_stream',
    });
  });

  it("the server's maximum append size becomes the port's AppendTooLargeError, naming the stream and the limit", () => {
    const error = MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576);
    const mapped = mapEsdbError(error, append);
    expect(mapped).toBeInstanceOf(AppendTooLargeError);
    expect(mapped).not.toBeInstanceOf(EventStoreUnavailableError);
    expect(mapped).toMatchObject({ streamId: 'contact-1', maxBytes: 1_048_576, cause: error });
    expect(mayPoisonClient(error)).toBe(false);
  });

  it('NotLeader is recognised through the causes the adapter wraps it in; "Server Is Not Ready" never reached a server', () => {
    const notLeader = convertToCommandError(
      Object.assign(new Error('Leader info available'), {
        code: 5,
        details: 'Leader info available',
        metadata: {
          getMap: () => ({ exception: 'not-leader', 'leader-endpoint-host': 'h', 'leader-endpoint-port': '1' }),
        },
      }),
    );
    expect(isNotLeader(notLeader)).toBe(true);
    expect(isNotLeader(mapEsdbError(notLeader, append))).toBe(true);
    expect(isNotLeader(new UnavailableError(undefined, '14 UNAVAILABLE: Server Is Not Ready'))).toBe(false);
    expect(neverReachedServer(new UnavailableError(undefined, '14 UNAVAILABLE: Server Is Not Ready'))).toBe(true);
  });

  it('unreachable-server errors of the client become EventStoreUnavailableError, keeping the cause', () => {
    const notLeader = convertToCommandError(
      Object.assign(new Error('Leader info available'), {
        code: 5,
        details: 'Leader info available',
        metadata: {
          getMap: () => ({
            exception: 'not-leader',
            'leader-endpoint-host': '10.0.0.2',
            'leader-endpoint-port': '2113',
          }),
        },
      }),
    );
    expect(notLeader).toBeInstanceOf(NotLeaderError);
    for (const error of [
      new UnavailableError(undefined, '14 UNAVAILABLE: No connection established'),
      new DeadlineExceededError(undefined, '4 DEADLINE_EXCEEDED: Deadline exceeded'),
      new TimeoutError(undefined, 'commit timeout'),
      notLeader,
    ]) {
      const mapped = mapEsdbError(error, append);
      expect(mapped, error.constructor.name).toBeInstanceOf(EventStoreUnavailableError);
      expect((mapped as EventStoreUnavailableError).cause).toBe(error);
      expect((mapped as Error).message).toContain('append to contact-1');
    }
  });

  it('raw gRPC UNAVAILABLE / DEADLINE_EXCEEDED errors and refused connections become EventStoreUnavailableError', () => {
    const raw = [
      Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
        code: 14,
        details: 'No connection established',
      }),
      Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4, details: 'Deadline exceeded' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2113'), { code: 'ECONNREFUSED' }),
      new Error('Failed to discover after 10 attempts.'),
      new Error('wrapped', {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND eventstore'), { code: 'ENOTFOUND' }),
      }),
    ];
    for (const error of raw)
      expect(mapEsdbError(error, { operation: 'read' }), error.message).toBeInstanceOf(EventStoreUnavailableError);
  });

  it('anything else comes back unchanged, to be rethrown', () => {
    const others: unknown[] = [
      new StreamNotFoundError(undefined, 'contact-3'),
      new TypeError('bug'),
      Object.assign(new Error('odd'), { code: 2 }),
      'a string',
      undefined,
    ];
    for (const error of others) expect(mapEsdbError(error, { operation: 'read' })).toBe(error);
  });

  it("AccessDeniedError becomes EventStoreAccessDeniedError naming the right the service's user lacks", () => {
    const denied = new AccessDeniedError(undefined, 'Access denied');
    const onAll = mapEsdbError(denied, { operation: 'read $all' });
    expect(onAll).toBeInstanceOf(EventStoreAccessDeniedError);
    expect((onAll as Error).message).toContain('$admins');
    expect((mapEsdbError(denied, append) as Error).message).toContain('write on contact-1');
  });

  it('errors already in the port vocabulary pass through', () => {
    const conflict = new WrongExpectedRevisionError('s', 'no_stream', 0n);
    const down = new EventStoreUnavailableError('down');
    expect(mapEsdbError(conflict, append)).toBe(conflict);
    expect(mapEsdbError(down, append)).toBe(down);
  });
});

describe('which failures rebuild the client, and which prove nothing was sent', () => {
  it('a failure the client recovers from itself, or a definitive answer, keeps the client; other gRPC failures renew it', () => {
    const raw = (code: number, details: string): Error =>
      Object.assign(new Error(`${code} ${details}`), { code, details });
    expect(mayPoisonClient(raw(4, 'Deadline Exceeded'))).toBe(true);
    expect(mayPoisonClient(new DeadlineExceededError(undefined, 'timeout'))).toBe(true);
    expect(mayPoisonClient(raw(13, 'internal'))).toBe(true);
    for (const kept of [
      raw(14, 'UNAVAILABLE'),
      new WrongExpectedVersionError(undefined, { streamName: 's', expected: 0n, current: 1n }),
      new AccessDeniedError(undefined, 'Access denied'),
      new TypeError('not JSON'),
      'a string',
    ]) {
      expect(mayPoisonClient(kept), String(kept)).toBe(false);
    }
  });

  it('no connection or no leader means the request never reached a server; a reset or a timeout does not', () => {
    expect(neverReachedServer(new UnavailableError(undefined, '14 UNAVAILABLE: No connection established'))).toBe(true);
    expect(
      neverReachedServer(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2113'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(neverReachedServer(new Error('Failed to discover after 10 attempts.'))).toBe(true);
    expect(neverReachedServer(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(false);
    expect(neverReachedServer(new DeadlineExceededError(undefined, 'timeout'))).toBe(false);
    expect(
      neverReachedServer(new UnavailableError(undefined, '14 UNAVAILABLE: fault: batch-append stream broke')),
    ).toBe(false);
  });
});

describe('event mapping', () => {
  const recorded = (
    meta: unknown,
    data: unknown,
    position: Position | 'none' = { commit: 42n, prepare: 42n },
  ): ResolvedEvent => ({
    event: {
      streamId: 'contact-9',
      id: '0b5d4b3c-3f61-4b0a-9d0b-1f1e2e3d4c5b',
      isJson: true,
      revision: 3n,
      type: 'ContactEnded',
      created: new Date('2025-01-02T03:04:05.678Z'),
      data: data as Record<string, unknown>,
      metadata: meta as Record<string, unknown>,
      ...(position === 'none' ? {} : { position }),
    },
  });

  it('writes a JSON event with the writer-chosen ID, type, data and metadata', () => {
    const event = toAppend('ContactEnded', { contactId: '1', nested: { a: [1, 2] } });
    const data: EventData = toEventData(event);
    expect(data).toEqual({
      id: event.id,
      contentType: 'application/json',
      type: 'ContactEnded',
      data: event.data,
      metadata: event.metadata,
    });
  });

  it('metadata round trips whether the client hands it over as an object or as bytes', () => {
    const meta = metadata();
    const bytes = new TextEncoder().encode(JSON.stringify(meta));
    // A view into a larger buffer, as protobuf hands them out.
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 4);
    for (const form of [meta, bytes, Buffer.from(bytes), padded.subarray(4, 4 + bytes.length)]) {
      const event = toRecordedEvent(recorded(form, { contactId: '9' }));
      expect(event?.metadata).toEqual(meta);
    }
  });

  it('reads every field back, position packed and the creation time as recordedAt', () => {
    const meta = metadata();
    const event = toRecordedEvent(recorded(meta, { contactId: '9' }, { commit: 42n, prepare: 41n }));
    expect(event).toEqual<RecordedEvent>({
      id: '0b5d4b3c-3f61-4b0a-9d0b-1f1e2e3d4c5b',
      streamId: 'contact-9',
      type: 'ContactEnded',
      data: { contactId: '9' },
      metadata: meta,
      revision: 3n,
      position: encodePosition({ commit: 42n, prepare: 41n }),
      recordedAt: new Date('2025-01-02T03:04:05.678Z'),
    });
  });

  it('data and metadata that are not JSON objects still come back as objects', () => {
    expect(toJsonObject(undefined)).toEqual({});
    expect(toJsonObject(new Uint8Array())).toEqual({});
    expect(toJsonObject(new TextEncoder().encode('not json'))).toEqual({ raw: 'not json' });
    expect(toJsonObject('{"a":1}')).toEqual({ a: 1 });
    expect(toJsonObject([1, 2])).toEqual({ value: [1, 2] });
  });

  it('an event without a usable log position is refused; a link to nothing is skipped', () => {
    expect(() => toRecordedEvent(recorded({}, {}, 'none'))).toThrow(/log position/);
    expect(() =>
      toRecordedEvent(recorded({}, {}, { commit: UNKNOWN_LOG_POSITION, prepare: UNKNOWN_LOG_POSITION })),
    ).toThrow(/log position/);
    expect(toRecordedEvent({})).toBeUndefined();
  });
});

describe('system event filter', () => {
  it('is a server-side event-type filter that excludes $-prefixed types only', () => {
    const filter = userEventsFilter();
    expect(filter.filterOn).toBe('eventType');
    const regex = new RegExp(filter.regex);
    for (const type of ['ContactStarted', 'ContactEnded', 'EndContactRejected', 'a$b'])
      expect(regex.test(type), type).toBe(true);
    for (const type of ['$metadata', '$>', '$statsCollected', '$ProjectionsInitialized', '$'])
      expect(regex.test(type), type).toBe(false);
    expect(isSystemEventType('$>')).toBe(true);
    expect(isSystemEventType('ContactEnded')).toBe(false);
    expect(isSystemEvent({ type: 'ContactStarted', streamId: '$ce-contact' })).toBe(true);
    expect(isSystemEvent({ type: 'ContactStarted', streamId: 'contact-1' })).toBe(false);
  });
});

describe('expected revision mapping', () => {
  it('maps the port values onto the client constants and exact revisions', () => {
    expect(toAppendExpectedRevision('any')).toBe(ANY);
    expect(toAppendExpectedRevision('no_stream')).toBe(NO_STREAM);
    expect(toAppendExpectedRevision('stream_exists')).toBe(STREAM_EXISTS);
    expect(toAppendExpectedRevision(0n)).toBe(0n);
    expect(toAppendExpectedRevision(17n)).toBe(17n);
    expect(() => toAppendExpectedRevision(-1n)).toThrow(RangeError);
  });
});
