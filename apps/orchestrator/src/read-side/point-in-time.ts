/**
 * The contact view as it stood at a log position or a time (docs/design.md, HTTP: `?at=`): the contact's own events up to that
 * point, folded by the domain's one `evolve`. Nothing here knows a rule; it only picks the events and shapes the view.
 */
import { DISCONNECT_REASON, foldContact, type ContactEventEnvelope } from '#contacts';
import type { RecordedEvent } from '#event-store';
import type { ContactView } from '#projections';

/** A log position (inclusive), or a time: the last event recorded at or before it. */
export type PointInTime = { position: bigint } | { time: Date };

/**
 * A calendar date that exists: 30-day months stop at 30, February at 28, and February 29 only in leap years
 * (divisible by 4, centuries only by 400). A pattern that says exactly this lets the API document promise that every
 * time it calls valid is accepted.
 */
const CALENDAR_DATE =
  '(?:\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))' +
  '|(?:\\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)';
/** An ISO-8601 date-time with a zone (`Z` or `±hh:mm`) on a date that exists. */
export const ISO_DATE_TIME_SOURCE = `${CALENDAR_DATE}T(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d{1,9})?)?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)`;

/** A decimal log position, or an ISO-8601 date-time with a zone. */
export const POINT_IN_TIME_PATTERN = new RegExp(`^(?:\\d{1,40}|${ISO_DATE_TIME_SOURCE})$`);

/** The point a well-formed value names (POINT_IN_TIME_PATTERN); undefined for anything else. */
export function parsePointInTime(value: string): PointInTime | undefined {
  if (/^\d+$/.test(value)) return { position: BigInt(value) };
  if (!POINT_IN_TIME_PATTERN.test(value)) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : { time };
}

const isAtOrBefore = (event: RecordedEvent, at: PointInTime): boolean =>
  'position' in at ? event.position <= at.position : event.recordedAt.getTime() <= at.time.getTime();

/** The view at `at` from the contact stream's events; undefined when the contact had not started yet. */
export function contactViewAt(stream: readonly RecordedEvent[], at: PointInTime): ContactView | undefined {
  const upTo = stream.filter((event) => isAtOrBefore(event, at));
  const envelopes = upTo.map((event): ContactEventEnvelope => {
    const commandId = event.metadata.commandId;
    return {
      type: event.type,
      data: event.data,
      ...(commandId !== undefined ? { commandId } : {}),
    } as ContactEventEnvelope;
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
    ...(state.status === 'Ended'
      ? { endedAt: state.endedAt, endedBy: state.endedBy, disconnectReason: DISCONNECT_REASON }
      : {}),
    position: upTo[upTo.length - 1]!.position.toString(),
  };
}
