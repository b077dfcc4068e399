/**
 * How appends and their outcomes cross between the event loop and the store's writer thread: flat arrays of
 * primitives, not arrays of objects. The structured clone behind postMessage writes every property name of every
 * object it copies; a group of appends as objects cost about 7% of the event loop under the EndContact load
 * (profile of `BENCH_CPU_PROF_DIR=/tmp/prof BENCH_ONLY=http npm run bench`), as flat values a fraction of it.
 */
import type { AppendOutcome, AppendRequest, SerialisedEvent } from './group-commit.js';

/** Per append: id, streamId, expectedRevision, deadline, event count, then per event: id, type, data, metadata. */
export type WireRequests = Array<string | number | bigint>;
/** Per outcome: id, then 1 with position and nextExpectedRevision, or 0 with the failure. */
export type WireOutcomes = Array<number | bigint | AppendFailureValue>;
type AppendFailureValue = Extract<AppendOutcome, { ok: false }>['failure'];

export function encodeRequests(requests: readonly AppendRequest[]): WireRequests {
  const wire: WireRequests = [];
  for (const { id, streamId, expectedRevision, deadline, events } of requests) {
    wire.push(id, streamId, expectedRevision, deadline, events.length);
    for (const event of events) wire.push(event.id, event.type, event.data, event.metadata);
  }
  return wire;
}

export function decodeRequests(wire: WireRequests): AppendRequest[] {
  const requests: AppendRequest[] = [];
  for (let i = 0; i < wire.length;) {
    const id = wire[i++] as number;
    const streamId = wire[i++] as string;
    const expectedRevision = wire[i++] as AppendRequest['expectedRevision'];
    const deadline = wire[i++] as number;
    const count = wire[i++] as number;
    const events: SerialisedEvent[] = [];
    for (let k = 0; k < count; k++, i += 4)
      events.push({
        id: wire[i] as string,
        type: wire[i + 1] as string,
        data: wire[i + 2] as string,
        metadata: wire[i + 3] as string,
      });
    requests.push({ id, streamId, expectedRevision, deadline, events });
  }
  return requests;
}

export function encodeOutcomes(outcomes: readonly AppendOutcome[]): WireOutcomes {
  const wire: WireOutcomes = [];
  for (const outcome of outcomes) {
    if (outcome.ok) wire.push(outcome.id, 1, outcome.result.position, outcome.result.nextExpectedRevision);
    else wire.push(outcome.id, 0, outcome.failure);
  }
  return wire;
}

export function decodeOutcomes(wire: WireOutcomes): AppendOutcome[] {
  const outcomes: AppendOutcome[] = [];
  for (let i = 0; i < wire.length;) {
    const id = wire[i++] as number;
    if (wire[i++] === 1) {
      outcomes.push({
        id,
        ok: true,
        result: { position: wire[i] as bigint, nextExpectedRevision: wire[i + 1] as bigint },
      });
      i += 2;
    } else outcomes.push({ id, ok: false, failure: wire[i++] as AppendFailureValue });
  }
  return outcomes;
}
