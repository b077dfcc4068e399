import { describe, expect, it, vi } from 'vitest';
import { eventIdFor, newEventId } from './event-ids.js';

describe('eventIdFor', () => {
  // Made by the hand-written v5 this replaced: a changed ID would let a retried refusal be recorded twice.
  it.each([
    ['2026-11-27:c-1:cmd-1:OnInvalidSecurityUser:-', '5884433a-bad9-56e2-921a-9fbd6adcf7f6'],
    ['é-ünïcode', '8d798188-687a-50da-beee-691fa75a2708'],
    ['', '4008b29e-d5bf-5123-b2aa-325340850bd1'],
  ])('gives %j the ID already stored for it', (name, id) => {
    expect(eventIdFor(name)).toBe(id);
  });
});

describe('newEventId', () => {
  it('is a UUID v7, and later IDs sort after earlier ones (the log index grows at its right edge)', () => {
    // Within one millisecond and across one: the clock is moved by hand, not waited for.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2026-12-07T00:00:00.000Z'));
      const first = newEventId();
      vi.setSystemTime(new Date('2026-12-07T00:00:00.002Z'));
      const ids = [first, ...Array.from({ length: 1_000 }, () => newEventId())];
      expect(ids[0]!.slice(0, 13)).not.toBe(ids[1]!.slice(0, 13));
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(ids);
    } finally {
      vi.useRealTimers();
    }
  });
});
