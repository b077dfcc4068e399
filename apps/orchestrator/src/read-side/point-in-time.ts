/**
 * The contact view as it stood at a log position or a time (DESIGN §5 `?at=`): the contact's own events up to that
 * point, folded by the domain's one `evolve`. Nothing here knows a rule; it only picks the events and shapes the view.
 */
import { DISCONNECT_REASON, foldContact, type ContactEventEnvelope } from '#contacts';
import type { RecordedEvent } from '#event-store';
import type { ContactView } from '#projections';

/** A log position (inclusive), or a time: the last event recorded at or before it. */
export type PointInTime = { position: bigint } | { time: Date };

/** A decimal log position, or an ISO-8601 date-time with a zone (`Z` or `±hh:mm`). */
export const POINT_IN_TIME_PATTERN =
  /^(?:\d{1,40}|\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))$/;

/** Undefined for a well-formed but impossible time (2026-02-30T…). */
export function parsePointInTime(value: string): PointInTime | undefined {
  if (/^\d+$/.test(value)) return { position: BigInt(value) };
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) return undefined;
  // Date accepts 2026-02-30 and rolls it over: the calendar date must read back the same.
  const [, y, m, d] = /^(\d{4})-(\d{2})-(\d{2})/.exec(value)!;
  const probe = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  if (probe.getUTCFullYear() !== Number(y) || probe.getUTCMonth() !== Number(m) - 1 || probe.getUTCDate() !== Number(d)) return undefined;
  return { time };
}

const isAtOrBefore = (event: RecordedEvent, at: PointInTime): boolean =>
  'position' in at ? event.position <= at.position : event.recordedAt.getTime() <= at.time.getTime();

/** The view at `at` from the contact stream's events; undefined when the contact had not started yet. */
export function contactViewAt(stream: readonly RecordedEvent[], at: PointInTime): ContactView | undefined {
  const upTo = stream.filter((event) => isAtOrBefore(event, at));
  const envelopes = upTo.map((event): ContactEventEnvelope => {
    const commandId = event.metadata.commandId;
    return { type: event.type, data: event.data, ...(commandId !== undefined ? { commandId } : {}) } as ContactEventEnvelope;
  });
  const state = foldContact(envelopes);
  if (state.status === 'None') return undefined;
  return {
    contactId: state.contactId,
    businessUnitId: state.businessUnitId,
    mediaType: state.mediaType,
    ...(state.skill !== undefined ? { skill: state.skill } : {}),
    state: state.status,
    startedAt: state.startedAt,
    ...(state.status === 'Ended' ? { endedAt: state.endedAt, endedBy: state.endedBy, disconnectReason: DISCONNECT_REASON } : {}),
    position: upTo[upTo.length - 1]!.position.toString(),
  };
}
