/** GET /health's answer (health.controller.ts). */
import Type from 'typebox';

/** GET /health's answer: terminus' report for METRICS_TOKEN or the platform token, `{status}` alone for anyone else. */
const HealthReport = Type.Object({
  status: Type.String({ description: '`ok` (200), `error` (503)' }),
  info: Type.Optional(Type.Record(Type.String(), Type.Object({}))),
  error: Type.Optional(Type.Record(Type.String(), Type.Object({}))),
  details: Type.Optional(Type.Record(Type.String(), Type.Object({}))),
});
/** With a token, when the event store's own check fails (503): that check alone is the report. */
const StoreDownReport = Type.Object({ eventStore: Type.Object({ status: Type.String(), message: Type.String() }) });
export const Health = Type.Union([HealthReport, StoreDownReport], { title: 'Health' });
