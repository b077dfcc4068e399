/** The contacts' request parts and answers: commands (start, end, end-batch, the Studio action) and reads. */
import Type from 'typebox';
import { BRANCHES, CONTACT_ID_PATTERN, MEDIA_TYPES, SCRIPT_TYPES } from '#contacts';
import { enumOf, Identifier } from '../http/schemas.js';
import { ISO_DATE_TIME_SOURCE } from '../read-side/point-in-time.js';
import { PointInTimeText } from '../read-side/point-in-time.schemas.js';

export const ContactId = Type.String({
  minLength: 1,
  maxLength: 19,
  pattern: CONTACT_ID_PATTERN.source,
  description: 'a decimal string of 1 to 19 digits',
  examples: ['5000123'],
});
/** 1-1000 as a decimal without leading zeros: exactly what the service accepts, so a valid value is never refused. */
export const Limit = Type.String({
  pattern: '^(1000|[1-9][0-9]{0,2})$',
  description: 'an integer from 1 to 1000 (default 100)',
  examples: ['100'],
});
export const MediaType = enumOf(MEDIA_TYPES, { description: 'the contact’s media type' });
export const ContactState = enumOf(['Active', 'Ended'] as const);
export const Branch = enumOf(BRANCHES);

// ---- request parts -----------------------------------------------------------------------------------------

export const StartContactBody = Type.Object(
  {
    businessUnitId: Identifier('the business unit', 'acme'),
    mediaType: MediaType,
    skill: Type.Optional(Type.String({ minLength: 1, maxLength: 128, examples: ['billing'] })),
    contactId: Type.Optional(ContactId),
  },
  { additionalProperties: false },
);

export const ContactPath = Type.Object({ contactId: ContactId }, { additionalProperties: false });
/** The end path's ID is checked by the End a Contact rules (a malformed ID is the branch OnInvalidContactID, 400, recorded). */
export const EndContactBody = Type.Object(
  {
    commandId: Type.Optional(Identifier('the command ID (same as Idempotency-Key when both are sent)', 'end-5000123')),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    state: Type.Optional(ContactState),
    mediaType: Type.Optional(MediaType),
    businessUnitId: Type.Optional(Identifier('only this business unit’s contacts (an agent: its own)')),
    limit: Type.Optional(Limit),
    after: Type.Optional(Type.String({ ...ContactId, description: 'the cursor: `next` of the previous page' })),
  },
  { additionalProperties: false },
);

export const ContactAtQuery = Type.Object(
  {
    at: Type.Optional(
      PointInTimeText('A log position (decimal) or an ISO-8601 time with a zone: the view as it stood then'),
    ),
  },
  { additionalProperties: false },
);

export const MAX_BATCH = 1_000;
export const EndBatchBody = Type.Object(
  {
    contactIds: Type.Optional(
      Type.Array(ContactId, { minItems: 1, maxItems: MAX_BATCH, description: 'the contacts to end (or give filter)' }),
    ),
    filter: Type.Optional(
      Type.Object(
        {
          mediaType: Type.Optional(MediaType),
          skill: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          startedBefore: Type.Optional(
            Type.String({
              maxLength: 40,
              pattern: `^${ISO_DATE_TIME_SOURCE}$`,
              description: 'an ISO-8601 date-time with a zone, on a date that exists',
              examples: ['2026-01-31T14:02:00Z'],
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'the active contacts of your business unit that match (or give contactIds)',
        },
      ),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_BATCH, description: 'with filter: how many at most (default 1000)' }),
    ),
    commandId: Type.Optional(
      Identifier('the batch command ID (same as Idempotency-Key when both are sent)', 'batch-2026-11-27'),
    ),
  },
  {
    additionalProperties: false,
    description: 'Exactly one of contactIds or filter; limit only with filter',
    // One of the two forms; with contactIds, neither filter nor limit.
    anyOf: [{ required: ['contactIds'] }, { required: ['filter'] }],
    if: { required: ['contactIds'] },
    then: { properties: { filter: false, limit: false } },
  },
);

export const HistoryQuery = Type.Object(
  {
    limit: Type.Optional(Limit),
    after: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 40,
        pattern: '^[0-9]{1,40}$',
        description: 'the cursor: `next` of the previous page (a log position)',
        examples: ['42'],
      }),
    ),
  },
  { additionalProperties: false },
);

export const StudioActionBody = Type.Object(
  {
    SecurityUser: Type.Optional(
      Type.String({
        maxLength: 8192,
        description: 'the SecurityUser, or a {variable} reference (default {SecurityUser})',
      }),
    ),
    ContactID: Type.String({
      maxLength: 256,
      description: 'the contact ID, or a {variable} reference',
      examples: ['{ContactID}'],
    }),
    variables: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 8192 }), {
        maxProperties: 1000,
        description: 'the script variables',
      }),
    ),
    branches: Type.Optional(
      Type.Array(Branch, { maxItems: BRANCHES.length, description: 'the branches the script defines' }),
    ),
    scriptType: Type.Optional(enumOf(SCRIPT_TYPES)),
    commandId: Type.Optional(Identifier('the command ID', 'studio-5000123')),
  },
  { additionalProperties: false },
);

// ---- answers ----------------------------------------------------------------------------------------------

const ActionError = Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) });
const Outputs = Type.Record(Type.String(), Type.String());

export const EndAnswer = Type.Object(
  {
    contactId: Type.String(),
    branch: Branch,
    outputs: Type.Optional(Outputs),
    endedAt: Type.Optional(Type.String()),
    position: Type.Optional(Type.String()),
    error: Type.Optional(ActionError),
  },
  { title: 'EndAnswer' },
);

export const END_EXAMPLES = {
  OnSuccess: {
    contactId: '5000123',
    branch: 'OnSuccess',
    outputs: { __DISCONNECTREASON: 'TerminateScript' },
    endedAt: '2026-11-27T10:00:00.000Z',
    position: '7',
  },
  OnInvalidSecurityUser: {
    contactId: '5000123',
    branch: 'OnInvalidSecurityUser',
    error: { code: 'InvalidSecurityUser', message: 'The SecurityUser has expired' },
  },
  OnUnauthorized: {
    contactId: '5000123',
    branch: 'OnUnauthorized',
    error: { code: 'Unauthorized', message: 'Agent ada lacks permission Contacts.End' },
  },
  OnInvalidContactID: {
    contactId: '5000123',
    branch: 'OnInvalidContactID',
    error: { code: 'InvalidContactID', message: 'Contact 5000123 is not active' },
  },
  Default: {
    contactId: '5000123',
    branch: 'Default',
    error: { code: 'StoreUnavailable', message: 'Event store unavailable' },
  },
} as const;

export const StudioAnswer = Type.Object(
  { branch: Type.String(), condition: Type.String(), outputs: Outputs, error: Type.Optional(ActionError) },
  { title: 'StudioAnswer' },
);

export const ContactView = Type.Object(
  {
    contactId: Type.String(),
    businessUnitId: Type.String(),
    mediaType: Type.String(),
    skill: Type.Optional(Type.String()),
    state: ContactState,
    startedAt: Type.String(),
    endedAt: Type.Optional(Type.String()),
    endedBy: Type.Optional(Type.String()),
    disconnectReason: Type.Optional(Type.String()),
    position: Type.String(),
  },
  { title: 'ContactView' },
);

export const StartedContact = Type.Object(
  {
    contactId: Type.String(),
    businessUnitId: Type.String(),
    mediaType: Type.String(),
    skill: Type.Optional(Type.String()),
    state: Type.String(),
    startedAt: Type.String(),
    position: Type.String(),
  },
  { title: 'StartedContact' },
);

export const ContactPage = Type.Object(
  { items: Type.Array(ContactView), next: Type.Optional(Type.String()) },
  { title: 'ContactPage' },
);

export const HistoryPage = Type.Object(
  {
    contactId: Type.String(),
    events: Type.Array(
      Type.Object({
        type: Type.String(),
        data: Type.Object({}),
        metadata: Type.Object({}),
        position: Type.String(),
        recordedAt: Type.String(),
      }),
    ),
    next: Type.Optional(Type.String()),
  },
  { title: 'HistoryPage' },
);
