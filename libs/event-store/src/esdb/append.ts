/**
 * The EventStoreDB adapter's append: the call, the $all position of what it wrote, and the actual revision of
 * a conflict.
 * - Every attempt sends the same events with the same IDs and the same expected revision, and asks for the leader
 *   (a follower would forward the write, and its NotLeader answer sends the client to the leader instead).
 * - A call that never reached a leader (not leader, not ready, no connection) is sent again, up to ATTEMPTS.
 * - A call that may have reached it (the batch-append stream broke, the server's write timeout: the server caps
 *   every write's deadline at it and answers Timeout, and the write may still land) is sent again only with an
 *   exact expected revision or no_stream, where the server recognises a repeat by the IDs after that revision; a
 *   repeat that arrives before the first is committed gets no answer but Timeout. With any / stream_exists a
 *   repeat is recognised only while the ID is in the server's bounded cache, so those are not repeated.
 * - When the attempts are spent, the stream is read for the events: found, success; their place taken by another
 *   write, a conflict (they can never land there); otherwise AppendOutcomeUnknownError.
 * - The server's answer carries the $all position of the write's LAST event (every event has its own), for an
 *   idempotent repeat too; only a server that sends none makes the adapter read the last event back.
 * - Too large (the server's maximum append size) is the port's AppendTooLargeError: no attempt would differ.
 */
import {
  BACKWARDS,
  END,
  type AppendResult as ClientAppendResult,
  type ReadStreamOptions,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  AppendOutcomeUnknownError,
  DELETED_STREAM_REVISION,
  EventStoreAccessDeniedError,
  EventStoreUnavailableError,
  StreamDeletedError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventToAppend,
  type ExpectedRevision,
} from '../port.js';
import type { ClientHolder } from './client-holder.js';
import { isNotLeader, mapEsdbError, neverReachedServer } from './errors.js';
import { toAppendExpectedRevision, toEventData, toRecordedEvent } from './mapping.js';
import { encodePosition } from './position.js';

/** How many times one append is sent (the same event IDs each time). */
export const ATTEMPTS = 3;

/** A stream read to the end, through the adapter (mapped errors, cut short by close()). */
export type StreamReader = (
  streamId: string,
  options: ReadStreamOptions,
  operation: string,
) => Promise<ResolvedEvent[] | 'not_found' | 'deleted'>;

export async function appendToEsdb(
  clients: ClientHolder,
  read: StreamReader,
  streamId: string,
  events: EventToAppend[],
  expectedRevision: ExpectedRevision,
): Promise<AppendResult> {
  const context = { operation: `append to ${streamId}`, streamId, expectedRevision };
  // Serialised once, before the client sees them: what JSON cannot write is refused here, synchronously, and
  // every attempt carries the same IDs.
  const data = events.map(toEventData);
  const repeatable = expectedRevision !== 'any' && expectedRevision !== 'stream_exists';
  let result: ClientAppendResult | undefined;
  let failure: EventStoreUnavailableError | undefined;
  /** Whether some attempt may have reached the leader (and so may have written). */
  let reached = false;
  for (let attempt = 1; attempt <= ATTEMPTS && result === undefined; attempt++) {
    const { client, release } = clients.lease();
    try {
      result = await client.appendToStream(streamId, data, {
        expectedRevision: toAppendExpectedRevision(expectedRevision),
        requiresLeader: true,
      });
    } catch (error) {
      clients.renewAfter(client, error);
      const mapped = mapEsdbError(error, context);
      if (!(mapped instanceof EventStoreUnavailableError) || mapped instanceof EventStoreAccessDeniedError)
        throw mapped;
      failure = mapped;
      if (neverReachedServer(error) || isNotLeader(error)) continue;
      reached = true;
      if (!repeatable) break;
    } finally {
      release();
    }
  }
  if (result === undefined) {
    if (!reached) throw failure!;
    return findWritten(read, streamId, events, expectedRevision, failure!);
  }
  // Only a client built with throwOnAppendFailure=false answers a conflict this way, and its batch append
  // reports the actual revision wrongly (as 1): ask the stream.
  if (!result.success)
    throw new WrongExpectedRevisionError(streamId, expectedRevision, await lastRevision(read, streamId));
  const { nextExpectedRevision } = result;
  if (result.position !== undefined) return { nextExpectedRevision, position: encodePosition(result.position) };
  return { nextExpectedRevision, position: await positionOf(read, streamId, nextExpectedRevision) };
}

/** The revision of a stream's last event, or 'no_stream'. */
export async function lastRevision(read: StreamReader, streamId: string): Promise<bigint | 'no_stream'> {
  const last = await read(
    streamId,
    { fromRevision: END, direction: BACKWARDS, maxCount: 1 },
    `read ${streamId} backwards`,
  );
  if (last === 'deleted') return DELETED_STREAM_REVISION;
  return last === 'not_found' ? 'no_stream' : (last[0]?.event?.revision ?? 'no_stream');
}

/** The $all position of one event of a stream, read back by revision. */
async function positionOf(read: StreamReader, streamId: string, revision: bigint): Promise<bigint> {
  const found = await read(streamId, { fromRevision: revision, maxCount: 1 }, `read ${streamId}@${revision}`);
  const event = Array.isArray(found) && found[0] !== undefined ? toRecordedEvent(found[0]) : undefined;
  if (event === undefined || event.revision !== revision) {
    throw new Error(`EventStoreDB: revision ${revision} of ${streamId} was written but cannot be read back`);
  }
  return event.position;
}

/** How far back a write with any / stream_exists is looked for: it may land after other writes. */
const TAIL = 64;

/** After a failed call: the events found written, a conflict if their place was taken, else outcome unknown. */
async function findWritten(
  read: StreamReader,
  streamId: string,
  events: EventToAppend[],
  expected: ExpectedRevision,
  failure: Error,
): Promise<AppendResult> {
  const unknown = (cause: unknown): AppendOutcomeUnknownError =>
    new AppendOutcomeUnknownError(
      streamId,
      `EventStoreDB: the append to ${streamId} may have been written (${failure.message})`,
      { cause },
    );
  let found: ResolvedEvent[] | 'not_found' | 'deleted';
  const exact = expected !== 'any' && expected !== 'stream_exists';
  const from = expected === 'no_stream' ? 0n : typeof expected === 'bigint' ? expected + 1n : END;
  try {
    found = exact
      ? await read(streamId, { fromRevision: from, maxCount: events.length }, `read ${streamId}@${from}`)
      : await read(
          streamId,
          { fromRevision: END, direction: BACKWARDS, maxCount: Math.max(TAIL, events.length) },
          `read ${streamId} backwards`,
        );
  } catch (error) {
    throw unknown(error);
  }
  if (found === 'deleted') throw new StreamDeletedError(streamId, expected);
  if (found === 'not_found') throw unknown(failure);
  const ids = events.map((e) => e.id);
  const inOrder = exact ? found : [...found].reverse();
  const start = inOrder.findIndex((r) => r.event?.id === ids[0]);
  const written = start < 0 ? [] : inOrder.slice(start, start + ids.length);
  if (written.length === ids.length && written.every((r, i) => r.event?.id === ids[i])) {
    const last = toRecordedEvent(written[written.length - 1]!)!;
    return { nextExpectedRevision: last.revision, position: last.position };
  }
  // Another write holds the revision ours needed: ours was refused or will be.
  if (exact && found.length > 0)
    throw new WrongExpectedRevisionError(
      streamId,
      expected,
      await lastRevision(read, streamId).catch(() => found.at(-1)!.event!.revision),
    );
  throw unknown(failure);
}
