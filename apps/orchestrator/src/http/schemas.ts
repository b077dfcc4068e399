/**
 * What every feature's HTTP schemas share: the identifier format, the Idempotency-Key header and the problem body
 * of every refusal. Each request part (body, path, query, headers) and answer body is described once as JSON
 * Schema with TypeBox, beside its feature (contacts/contacts.schemas.ts, directory/directory.schemas.ts, …): the
 * same object is compiled by ajv to validate the request (validation.ts) and printed into the OpenAPI document
 * (openapi.ts), so the document and the behaviour cannot disagree.
 */
import type { SchemaObject } from '@nestjs/swagger';
import Type, { type Static, type TSchema } from 'typebox';

const IDENTIFIER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$';
const IDENTIFIER_HINT = 'letters, digits and . _ : - (1-128 characters, starting with a letter or digit)';

export const enumOf = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

export const Identifier = (description = IDENTIFIER_HINT, example = 'acme') =>
  Type.String({ minLength: 1, maxLength: 128, pattern: IDENTIFIER_PATTERN, description, examples: [example] });

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

export type Schema = TSchema;

/**
 * A TypeBox schema where a Swagger decorator asks for a SchemaObject: the same object, printed as it is (it is
 * JSON Schema, and the document is OpenAPI 3.1). Only the type changes: TypeBox's precise types (`Type.Unsafe`'s
 * enums, an object's `required`) do not line up with SchemaObject's, while every TypeBox schema is a TSchema.
 */
export const openApiSchema = (schema: Schema): SchemaObject => schema;
export type { Static };
