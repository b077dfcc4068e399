/**
 * An event as the views apply it: data parsed (a view reads its fields), data and metadata also kept as the JSON
 * text the store holds (the history copies it as is). From the embedded log nothing is parsed twice or re-encoded.
 */
import type { RawEvent, RecordedEvent } from '../../event-store/src/index.js';

export type ViewEvent = {
  position: bigint;
  streamId: string;
  type: string;
  data: Record<string, unknown>;
  dataJson: string;
  metadataJson: string;
  /** ISO-8601, as recorded. */
  recordedAt: string;
};

export const fromRaw = (event: RawEvent): ViewEvent => ({
  position: event.position,
  streamId: event.streamId,
  type: event.type,
  data: JSON.parse(event.data) as Record<string, unknown>,
  dataJson: event.data,
  metadataJson: event.metadata,
  recordedAt: event.recordedAt,
});

export const fromRecorded = (event: RecordedEvent): ViewEvent => ({
  position: event.position,
  streamId: event.streamId,
  type: event.type,
  data: event.data,
  dataJson: JSON.stringify(event.data),
  metadataJson: JSON.stringify(event.metadata),
  recordedAt: event.recordedAt.toISOString(),
});
