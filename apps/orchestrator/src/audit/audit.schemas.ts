/** GET /v1/audit/events' query (audit.controller.ts). */
import Type from 'typebox';
import { ContactId } from '../contacts/contacts.schemas.js';
import { Identifier } from '../http/schemas.js';
import { PointInTimeText } from '../read-side/point-in-time.schemas.js';

export const AuditQuery = Type.Object(
  {
    from: Type.Optional(PointInTimeText('Inclusive: a log position or an ISO-8601 time')),
    to: Type.Optional(
      PointInTimeText('Inclusive: a log position or an ISO-8601 time; default the head when the request starts'),
    ),
    businessUnitId: Type.Optional(
      Identifier('only this business unit’s contact events and refusals (an Audit.Read agent: its own)'),
    ),
    agentId: Type.Optional(Identifier('the agent who ended a contact or was refused', 'ada')),
    contactId: Type.Optional(ContactId),
    type: Type.Optional(Identifier('an event type', 'ContactEnded')),
  },
  { additionalProperties: false },
);
