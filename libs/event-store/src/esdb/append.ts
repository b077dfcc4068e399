/**
 * The EventStoreDB adapter's append: the call, the $all position of what it wrote, and the actual revision of
 * a conflict.
 * - One event: the server's answer carries that event's $all position. The events of a multi-event write share
 *   the write's commit position and the answer is the first one's; an idempotent retry carries none. Only
 *   those two read the last event back.
 */
import { BACKWARDS, END, type ReadStreamOptions, type ResolvedEvent } from '@eventstore/db-client';
import { DELETED_STREAM_REVISION, WrongExpectedRevisionError, type AppendResult, type EventToAppend, type ExpectedRevision } from '../port.js';
import type { ClientHolder } from './client-holder.js';
import { mapEsdbError } from './errors.js';
import { toAppendExpectedRevision, toEventData, toRecordedEvent } from './mapping.js';
import { encodePosition } from './position.js';

/** A stream read to the end, through the adapter (mapped errors, cut short by close()). */
export type StreamReader = (streamId: string, options: ReadStreamOptions, operation: string) => Promise<ResolvedEvent[] | 'not_found' | 'deleted'>;

export async function appendToEsdb(
  clients: ClientHolder,
  read: StreamReader,
  streamId: string,
  events: EventToAppend[],
  expectedRevision: ExpectedRevision,
): Promise<AppendResult> {
  const context = { operation: `append to ${streamId}`, streamId, expectedRevision };
  // Serialised before the client sees them: what JSON cannot write is refused here, synchronously.
  const data = events.map(toEventData);
  const { client, release } = clients.lease();
  let result;
  try {
    result = await client.appendToStream(streamId, data, { expectedRevision: toAppendExpectedRevision(expectedRevision) });
  } catch (error) {
    clients.renewAfter(client, error);
    throw mapEsdbError(error, context);
  } finally {
    release();
  }
  // Only a client built with throwOnAppendFailure=false answers a conflict this way, and its batch append
  // reports the actual revision wrongly (as 1): ask the stream.
  if (!result.success) throw new WrongExpectedRevisionError(streamId, expectedRevision, await lastRevision(read, streamId));
  const { nextExpectedRevision } = result;
  if (events.length === 1 && result.position !== undefined) return { nextExpectedRevision, position: encodePosition(result.position) };
  try {
    return { nextExpectedRevision, position: await positionOf(read, streamId, nextExpectedRevision) };
  } catch (error) {
    // The events are written: failing now would tell the caller they were not. Fall back on the position
    // the server answered with (the write's first event: still after everything before it).
    if (result.position === undefined) throw error;
    return { nextExpectedRevision, position: encodePosition(result.position) };
  }
}

/** The revision of a stream's last event, or 'no_stream'. */
export async function lastRevision(read: StreamReader, streamId: string): Promise<bigint | 'no_stream'> {
  const last = await read(streamId, { fromRevision: END, direction: BACKWARDS, maxCount: 1 }, `read ${streamId} backwards`);
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
