/** POST /v1/contacts/end-batch (DESIGN §10): parse, call the bus, answer every contact's branch and a summary. */
import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONTACT_ID_PATTERN, MEDIA_TYPES } from '#contacts';
import { bearerToken } from '../http/auth.js';
import { clientAddressOf, commandIdOf } from '../http/command-context.js';
import { InvalidInputError, identifier, jsonSchema, list, oneOf, optional, parseBody, text, type Field } from '../http/input.js';
import { EndContactBatchCommand, type BatchSelection } from './end-contact-batch.command.js';

export const MAX_BATCH = 1_000;

const contactIdField = text({ pattern: CONTACT_ID_PATTERN, patternHint: 'a decimal string of 1 to 19 digits', maxLength: 19 });
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const filterShape = {
  mediaType: optional(oneOf(MEDIA_TYPES)),
  skill: optional(text({ maxLength: 128 })),
  startedBefore: optional(text({ pattern: ISO_TIME, patternHint: 'an ISO-8601 date-time with a zone, e.g. 2026-01-31T14:02:00Z', maxLength: 40 })),
};
const batchShape = {
  contactIds: optional(nonEmpty(list(contactIdField, { maxItems: MAX_BATCH }))),
  filter: optional(nested(filterShape)),
  limit: optional(integer(1, MAX_BATCH)),
  commandId: optional(identifier()),
};

@ApiTags('contacts')
@ApiBearerAuth()
@Controller('v1/contacts')
export class EndContactBatchController {
  constructor(private readonly commands: CommandBus) {}

  @Post('end-batch')
  @HttpCode(200)
  @ApiOperation({
    summary: 'End up to 1,000 contacts: listed by ID, or the active contacts of your business unit matching a filter (SecurityUser with Contacts.End)',
    description: 'Each contact goes through the same EndContact path as a single end; the batch command ID is every end’s correlationId.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'The batch command ID: a retry answers the same results and writes nothing new' })
  @ApiBody({ schema: { ...jsonSchema(batchShape), description: 'Exactly one of contactIds or filter; limit only with filter (default 1000)' } })
  @ApiResponse({ status: 200, description: '{results: [{contactId, branch, status, error?}], summary: {branch: count}}; partial success is normal' })
  @ApiResponse({ status: 400, description: 'Bad input, naming the field' })
  @ApiResponse({ status: 401, description: 'OnInvalidSecurityUser for the whole batch (named contacts each get their refusal)' })
  @ApiResponse({ status: 403, description: 'OnUnauthorized: no Contacts.End' })
  async endBatch(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() body: unknown) {
    const input = parseBody(batchShape, body);
    const selection = selectionOf(input);
    const batchId = commandIdOf(request, input.commandId);
    const answer = await this.commands.execute(
      new EndContactBatchCommand({
        selection,
        securityUser: bearerToken(request),
        batchId,
        keyed: request.headers['idempotency-key'] !== undefined || input.commandId !== undefined,
        clientAddress: clientAddressOf(request),
      }),
    );
    const { caller, results, summary } = answer;
    if (caller.status === 401) void reply.header('www-authenticate', 'Bearer');
    void reply.status(caller.status).send({
      batchId,
      ...(caller.branch === 'OnSuccess' ? {} : { branch: caller.branch, error: caller.error }),
      results,
      summary,
    });
  }
}

type Filter = Extract<BatchSelection, { kind: 'filter' }>['filter'];

function selectionOf(input: { contactIds?: string[]; filter?: Filter; limit?: number }): BatchSelection {
  if (input.contactIds !== undefined && input.filter !== undefined) throw new InvalidInputError('filter', 'cannot be given with contactIds (one or the other)');
  if (input.contactIds !== undefined) {
    if (input.limit !== undefined) throw new InvalidInputError('limit', 'only applies with filter');
    return { kind: 'ids', contactIds: input.contactIds };
  }
  if (input.filter !== undefined) {
    const { startedBefore } = input.filter;
    if (startedBefore !== undefined && Number.isNaN(Date.parse(startedBefore))) throw new InvalidInputError('filter.startedBefore', 'is not a real date-time');
    return { kind: 'filter', filter: input.filter, limit: input.limit ?? MAX_BATCH };
  }
  throw new InvalidInputError('contactIds', 'or filter is required');
}

function nonEmpty<T>(field: Field<T[]>): Field<T[]> {
  return {
    ...field,
    schema: { ...field.schema, minItems: 1 },
    parse(value, name) {
      const items = field.parse(value, name);
      if (items.length === 0) throw new InvalidInputError(name, 'must have at least 1 item');
      return items;
    },
  };
}

function integer(min: number, max: number): Field<number> {
  return {
    optional: false,
    schema: { type: 'integer', minimum: min, maximum: max },
    parse(value, name) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new InvalidInputError(name, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
      }
      return value;
    },
  };
}

/** An object field: its own unknown keys and bad values are refused under `name.key`. */
function nested<S extends Record<string, Field<unknown>>>(shape: S): Field<{ [K in keyof S]?: S[K] extends Field<infer T> ? Exclude<T, undefined> : never }> {
  return {
    optional: false,
    schema: jsonSchema(shape),
    parse(value, name) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidInputError(name, 'must be a JSON object');
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(shape, key)) throw new InvalidInputError(`${name}.${key}`, `is not a known field (expected: ${Object.keys(shape).join(', ')})`);
      }
      const result: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(shape)) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== undefined) result[key] = field.parse(item, `${name}.${key}`);
      }
      return result as { [K in keyof S]?: S[K] extends Field<infer T> ? Exclude<T, undefined> : never };
    },
  };
}
