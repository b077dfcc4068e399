// The view at a point: Given a contact stream, When asked at a position or a time, Then the fold up to it.
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '#event-store';
import { POINT_IN_TIME_PATTERN, contactViewAt, parsePointInTime } from './point-in-time.js';

const metadata = { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1 };
const recorded = (
  type: string,
  data: Record<string, unknown>,
  position: bigint,
  at: string,
  commandId?: string,
): RecordedEvent => ({
  id: `e${position}`,
  streamId: 'contact-42',
  type,
  data,
  metadata: { ...metadata, ...(commandId ? { commandId } : {}) },
  revision: position,
  position,
  recordedAt: new Date(at),
});
const stream = [
  recorded(
    'ContactStarted',
    { contactId: '42', businessUnitId: 'bu', mediaType: 'Chat', skill: 's', startedAt: '2026-11-27T14:00:00.000Z' },
    10n,
    '2026-11-27T14:00:00.001Z',
  ),
  recorded(
    'ContactEnded',
    {
      contactId: '42',
      businessUnitId: 'bu',
      mediaType: 'Chat',
      endedBy: 'ada',
      disconnectReason: 'TerminateScript',
      endedAt: '2026-11-27T14:05:00.000Z',
    },
    17n,
    '2026-11-27T14:05:00.001Z',
    'k1',
  ),
];

describe('contactViewAt', () => {
  it('before the start: none; between: Active at the start position; from the end on: Ended', () => {
    expect(contactViewAt(stream, { position: 9n })).toBeUndefined();
    expect(contactViewAt(stream, { position: 10n })).toStrictEqual({
      contactId: '42',
      businessUnitId: 'bu',
      mediaType: 'Chat',
      skill: 's',
      state: 'Active',
      startedAt: '2026-11-27T14:00:00.000Z',
      position: '10',
    });
    expect(contactViewAt(stream, { position: 16n })?.state).toBe('Active');
    expect(contactViewAt(stream, { position: 17n })).toMatchObject({
      state: 'Ended',
      endedAt: '2026-11-27T14:05:00.000Z',
      endedBy: 'ada',
      disconnectReason: 'TerminateScript',
      position: '17',
    });
  });

  it('a time answers the last event recorded at or before it', () => {
    expect(contactViewAt(stream, parsePointInTime('2026-11-27T14:02:00Z')!)?.state).toBe('Active');
    expect(contactViewAt(stream, parsePointInTime('2026-11-27T14:05:00.001Z')!)?.state).toBe('Ended');
    expect(contactViewAt(stream, parsePointInTime('2026-11-27T15:00:00+01:00')!)).toBeUndefined();
  });
});

describe('parsePointInTime', () => {
  it('a decimal is a position; a date-time with a zone is a time; an impossible date is refused', () => {
    expect(parsePointInTime('123456789012345678901234567890')).toStrictEqual({
      position: 123456789012345678901234567890n,
    });
    expect(parsePointInTime('2026-11-27T14:02+02:00')).toStrictEqual({ time: new Date('2026-11-27T12:02:00Z') });
    expect(parsePointInTime('2026-02-30T10:00:00Z')).toBeUndefined();
    expect(parsePointInTime('2028-02-29T10:00:00Z')).toStrictEqual({ time: new Date('2028-02-29T10:00:00Z') });
  });
});

describe('POINT_IN_TIME_PATTERN: what the API document calls valid is a time that exists', () => {
  it.each([
    ['2026-02-28T00:00Z', true],
    ['2026-02-29T00:00Z', false],
    ['2024-02-29T00:00Z', true],
    ['1900-02-29T00:00Z', false],
    ['2000-02-29T00:00Z', true],
    ['0000-02-29T00:00Z', true],
    ['2026-04-30T00:00Z', true],
    ['2026-04-31T00:00Z', false],
    ['2026-12-31T23:59:59.999999999Z', true],
    ['0363-02-31T06:57:12.104470+19:11', false],
    ['0063-03-01T00:00-23:59', true],
    ['2026-11-27T24:00Z', false],
    ['2026-11-27T14:02', false],
    ['123', true],
  ])('%s: %s, and parsed exactly when it matches', (value, valid) => {
    expect(POINT_IN_TIME_PATTERN.test(value)).toBe(valid);
    expect(parsePointInTime(value) !== undefined).toBe(valid);
  });
});
