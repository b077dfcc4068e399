import { describe, expect, it } from 'vitest';
import type { AppendOutcome, AppendRequest } from './group-commit.js';
import { decodeOutcomes, decodeRequests, encodeOutcomes, encodeRequests } from './wire.js';

describe('the writer thread wire', () => {
  it('carries appends of one and of several events, every kind of expected revision, unchanged', () => {
    const event = (n: number) => ({
      id: `e${n}`,
      type: 'ContactEnded',
      data: `{"n":${n}}`,
      metadata: '{"commandId":"c"}',
    });
    const requests: AppendRequest[] = [
      { id: 0, streamId: 'contact-1', expectedRevision: 0n, deadline: 1_000, events: [event(1)] },
      {
        id: 1,
        streamId: 'contact-2',
        expectedRevision: 'no_stream',
        deadline: 2_000,
        events: [event(2), event(3), event(4)],
      },
      { id: 2, streamId: 'audit', expectedRevision: 'any', deadline: 3_000, events: [event(5)] },
      { id: 3, streamId: 'contact-3', expectedRevision: 'stream_exists', deadline: 4_000, events: [event(6)] },
    ];
    const wire = encodeRequests(requests);
    expect(wire.every((value) => typeof value !== 'object')).toBe(true);
    expect(decodeRequests(structuredClone(wire))).toEqual(requests);
    expect(decodeRequests(encodeRequests([]))).toEqual([]);
  });

  it('carries successes with their positions and failures with their reasons, in order', () => {
    const outcomes: AppendOutcome[] = [
      { id: 7, ok: true, result: { position: 9_007_199_254_740_993n, nextExpectedRevision: 1n } },
      { id: 8, ok: false, failure: { kind: 'conflict', streamId: 'contact-2', expected: 0n, actual: 1n } },
      { id: 9, ok: false, failure: { kind: 'unavailable', message: 'locked' } },
      { id: 10, ok: true, result: { position: 12n, nextExpectedRevision: 0n } },
    ];
    expect(decodeOutcomes(structuredClone(encodeOutcomes(outcomes)))).toEqual(outcomes);
  });
});
