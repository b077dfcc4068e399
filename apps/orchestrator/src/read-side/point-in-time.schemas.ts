/** The text of a point of the log in a query (`at`, `from`, `to`): what parsePointInTime (point-in-time.ts) reads. */
import Type from 'typebox';
import { POINT_IN_TIME_PATTERN } from './point-in-time.js';

/** A point of the log: a position (decimal) or an ISO-8601 time with a zone (the last event recorded at or before it). */
export const PointInTimeText = (description: string) =>
  Type.String({
    maxLength: 64,
    pattern: POINT_IN_TIME_PATTERN.source,
    description,
    examples: ['42', '2026-11-27T14:02:00Z'],
  });
