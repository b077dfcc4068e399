/**
 * Every request part (body, path, query, headers) and every answer body, described once as JSON Schema with
 * TypeBox: the same object is compiled by ajv to validate the request (validation.ts) and printed into the
 * OpenAPI document (openapi.ts), so the document and the behaviour cannot disagree.
 */
import type { SchemaObject } from '@nestjs/swagger';
import Type, { type Static, type TSchema } from 'typebox';
import { BRANCHES, CONTACT_ID_PATTERN, MEDIA_TYPES, SCRIPT_TYPES } from '#contacts';
import { KNOWN_PERMISSIONS } from '#security';
import { ISO_DATE_TIME_SOURCE, POINT_IN_TIME_PATTERN } from '../read-side/point-in-time.js';

const IDENTIFIER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$';
const IDENTIFIER_HINT = 'letters, digits and . _ : - (1-128 characters, starting with a letter or digit)';

const enumOf = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

export const Identifier = (description = IDENTIFIER_HINT, example = 'acme') =>
  Type.String({ minLength: 1, maxLength: 128, pattern: IDENTIFIER_PATTERN, description, examples: [example] });
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

export const IdempotencyKeyHeader = Type.Object(
  {
    'idempotency-key': Type.Optional(
      Identifier(
        'the command ID: a retry with the same key answers the original result and writes nothing',
        'end-5000123',
      ),
    ),
  },
  { additionalProperties: true },
);

export const ProfilePath = Type.Object(
  { profileId: Identifier('the security profile ID', 'supervisor') },
  { additionalProperties: false },
);
export const ProfileBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, examples: ['Supervisor'] }),
    permissions: Type.Array(enumOf(KNOWN_PERMISSIONS), { maxItems: 32, examples: [['Contacts.End', 'Contacts.View']] }),
  },
  { additionalProperties: false },
);

export const AgentPath = Type.Object({ agentId: Identifier('the agent ID', 'ada') }, { additionalProperties: false });
export const AgentBody = Type.Object(
  {
    businessUnitId: Identifier('the business unit', 'acme'),
    securityProfileId: Identifier('the security profile', 'supervisor'),
    active: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const SecurityUserBody = Type.Object(
  { agentId: Identifier('the agent the SecurityUser names', 'ada') },
  { additionalProperties: false },
);

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

/** A point of the log: a position (decimal) or an ISO-8601 time with a zone (the last event recorded at or before it). */
export const PointInTimeText = (description: string) =>
  Type.String({
    maxLength: 64,
    pattern: POINT_IN_TIME_PATTERN.source,
    description,
    examples: ['42', '2026-11-27T14:02:00Z'],
  });

export const ContactAtQuery = Type.Object(
  {
    at: Type.Optional(
      PointInTimeText('A log position (decimal) or an ISO-8601 time with a zone: the view as it stood then'),
    ),
  },
  { additionalProperties: false },
);

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

/** A body that may be left out, or be `{}`: nothing else. */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

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

export const Problem = Type.Object(
  { statusCode: Type.Integer(), error: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) },
  {
    title: 'Problem',
    examples: [
      {
        statusCode: 400,
        error: 'Bad Request',
        field: 'mediaType',
        message: 'mediaType must be one of Phone, Voicemail, Email, Chat, SMS, WorkItem, Digital, got "Fax"',
      },
    ],
  },
);

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

export const Profile = Type.Object(
  { profileId: Type.String(), name: Type.String(), permissions: Type.Array(Type.String()) },
  { title: 'SecurityProfile' },
);
export const Agent = Type.Object(
  { agentId: Type.String(), businessUnitId: Type.String(), securityProfileId: Type.String(), active: Type.Boolean() },
  { title: 'Agent' },
);
export const IssuedSecurityUser = Type.Object(
  { securityUser: Type.String(), agentId: Type.String(), businessUnitId: Type.String(), expiresAt: Type.String() },
  { title: 'SecurityUser' },
);

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

export type Schema = TSchema;

/**
 * A TypeBox schema where a Swagger decorator asks for a SchemaObject: the same object, printed as it is (it is
 * JSON Schema, and the document is OpenAPI 3.1). Only the type changes: TypeBox's precise types (`Type.Unsafe`'s
 * enums, an object's `required`) do not line up with SchemaObject's, while every TypeBox schema is a TSchema.
 */
export const openApiSchema = (schema: Schema): SchemaObject => schema;
export type { Static };
