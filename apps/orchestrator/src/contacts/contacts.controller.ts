/** REST for contacts: register, end, read (view, list, history). Thin: parse, call the bus, map the answer. */
import { Body, Controller, ForbiddenException, Get, HttpCode, NotFoundException, ConflictException, Param, Post, Query, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONTACT_ID_PATTERN, MEDIA_TYPES } from '#contacts';
import { ViewsService } from '../read-side/views.service.js';
import { Credentials } from '../directory/credentials.js';
import { bearerToken, type Reader } from '../http/auth.js';
import { clientAddressOf, commandIdOf, correlationIdOf, metadataFor } from '../http/command-context.js';
import { IDENTIFIER, InvalidInputError, identifier, jsonSchema, oneOf, optional, parseBody, text } from '../http/input.js';
import { POINT_IN_TIME_PATTERN, parsePointInTime } from '../read-side/point-in-time.js';
import { EndContactCommand } from './end-contact.command.js';
import { httpStatusOf, restBodyOf } from './end-contact.http.js';
import { StartContactCommand } from './start-contact.command.js';

const contactIdField = text({ pattern: CONTACT_ID_PATTERN, patternHint: 'a decimal string of 1 to 19 digits', maxLength: 19 });
const startShape = {
  businessUnitId: identifier(),
  mediaType: oneOf(MEDIA_TYPES),
  skill: optional(text({ maxLength: 128 })),
  contactId: optional(contactIdField),
};
const endShape = { commandId: optional(identifier()) };
const atField = text({ pattern: POINT_IN_TIME_PATTERN, patternHint: 'a log position (decimal) or an ISO-8601 time with a zone, e.g. 2026-11-27T14:02:00Z', maxLength: 64 });

@ApiTags('contacts')
@ApiBearerAuth()
@Controller('v1/contacts')
export class ContactsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly credentials: Credentials,
    private readonly views: ViewsService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a live contact (platform credential)' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A retry with the same key answers the contact it started' })
  @ApiBody({ schema: jsonSchema(startShape) })
  @ApiResponse({ status: 201, description: 'The contact, Active' })
  @ApiResponse({ status: 409, description: 'A contact with this ID exists' })
  async start(@Req() request: FastifyRequest, @Body() body: unknown) {
    this.credentials.requirePlatform(request);
    const input = parseBody(startShape, body);
    const commandId = commandIdOf(request, undefined);
    const keyed = request.headers['idempotency-key'] !== undefined;
    const result = await this.commands.execute(
      new StartContactCommand({ ...stripUndefined(input), metadata: metadataFor(request, commandId, 'http'), ...(keyed ? { idempotencyKey: commandId } : {}) }),
    );
    if (result.result === 'AlreadyExists') throw new ConflictException(result.detail);
    await this.views.caughtUp(result.position);
    const { result: _started, ...contact } = result;
    return contact;
  }

  @Post(':contactId/end')
  @HttpCode(200)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'commandId: a retry returns the original OnSuccess answer and writes nothing' })
  @ApiResponse({ status: 200, description: 'OnSuccess: {contactId, branch, outputs: {__DISCONNECTREASON: "TerminateScript"}, endedAt, position}' })
  @ApiResponse({ status: 400, description: 'OnInvalidContactID (malformed ID), or a malformed request (branch Default, error.code InvalidRequest)' })
  @ApiResponse({ status: 401, description: 'OnInvalidSecurityUser' })
  @ApiResponse({ status: 403, description: 'OnUnauthorized: no Contacts.End' })
  @ApiResponse({ status: 404, description: 'OnInvalidContactID: unknown, or another business unit’s (same answer)' })
  @ApiResponse({ status: 409, description: 'OnInvalidContactID: not active (already ended)' })
  @ApiResponse({ status: 503, description: 'Default: event store unavailable, nothing written' })
  @ApiOperation({ summary: 'End a contact (SecurityUser credential)', description: 'Branches: 200 OnSuccess, 401 OnInvalidSecurityUser, 403 OnUnauthorized, 400/404/409 OnInvalidContactID, 503 Default' })
  @ApiParam({ name: 'contactId', description: 'Decimal string of 1 to 19 digits' })
  @ApiBody({ schema: jsonSchema(endShape), required: false })
  async end(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('contactId') contactId: string, @Body() body: unknown) {
    const input = parseBody(endShape, body, { allowMissingBody: true });
    const commandId = commandIdOf(request, input.commandId);
    const result = await this.commands.execute(
      new EndContactCommand({
        contactId,
        securityUser: bearerToken(request),
        commandId,
        correlationId: correlationIdOf(request, commandId),
        source: 'http',
        clientAddress: clientAddressOf(request),
      }),
    );
    if ('position' in result && result.position !== undefined) await this.views.caughtUp(result.position);
    void reply.status(httpStatusOf(result)).send(restBodyOf(result));
  }

  @Get()
  @ApiOperation({ summary: 'List contacts of the view, paged by contactId' })
  @ApiQuery({ name: 'state', required: false, enum: ['Active', 'Ended'] })
  @ApiQuery({ name: 'mediaType', required: false, enum: [...MEDIA_TYPES] })
  @ApiQuery({ name: 'businessUnitId', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  @ApiQuery({ name: 'after', required: false, description: 'cursor: the `next` of the previous page' })
  async list(@Req() request: FastifyRequest, @Query() query: Record<string, unknown>) {
    const reader = await this.credentials.requireReader(request);
    const input = parseBody(
      { state: optional(oneOf(['Active', 'Ended'] as const)), mediaType: optional(oneOf(MEDIA_TYPES)), businessUnitId: optional(text({ pattern: IDENTIFIER, patternHint: 'an identifier' })), limit: optional(text({ pattern: /^\d{1,4}$/, patternHint: 'an integer from 1 to 1000' })), after: optional(contactIdField) },
      query,
    );
    const limit = input.limit === undefined ? 100 : Number(input.limit);
    if (limit < 1 || limit > 1000) throw new InvalidInputError('limit', 'must be an integer from 1 to 1000');
    let businessUnitId = input.businessUnitId;
    if (reader.kind === 'agent') {
      if (businessUnitId !== undefined && businessUnitId !== reader.businessUnitId) {
        throw new ForbiddenException(`businessUnitId must be your own business unit (${reader.businessUnitId})`);
      }
      businessUnitId = reader.businessUnitId;
    }
    return this.views.list({ ...stripUndefined({ state: input.state, mediaType: input.mediaType, businessUnitId, after: input.after }), limit });
  }

  @Get(':contactId')
  @ApiOperation({ summary: 'One contact of the live view' })
  @ApiResponse({ status: 200, description: 'The contact view' })
  @ApiResponse({ status: 404, description: 'Unknown, or another business unit’s; with `at`, not started yet at that point' })
  @ApiResponse({ status: 400, description: 'A malformed contact ID, or an `at` that is not a position or an existing time' })
  @ApiQuery({ name: 'at', required: false, schema: atField.schema, description: 'A log position (decimal) or an ISO-8601 time: the view as it stood then' })
  async get(@Req() request: FastifyRequest, @Param('contactId') contactId: string, @Query() query: Record<string, unknown>) {
    const reader = await this.credentials.requireReader(request);
    const id = contactIdField.parse(contactId, 'contactId');
    const { at } = parseBody({ at: optional(atField) }, query ?? {});
    if (at === undefined) return this.visibleContact(reader, id);
    const point = parsePointInTime(at);
    if (point === undefined) throw new InvalidInputError('at', 'must be a log position or an ISO-8601 time that exists');
    const contact = await this.views.contactAt(id, point);
    if (!contact || (reader.kind === 'agent' && contact.businessUnitId !== reader.businessUnitId)) {
      throw new NotFoundException(`Contact ${id} not found at ${at}`);
    }
    return contact;
  }

  @Get(':contactId/history')
  @ApiOperation({ summary: 'The contact’s events in log order, refusals that named it included' })
  @ApiResponse({ status: 200, description: '{contactId, events: [{type, data, metadata, position, recordedAt}]}' })
  @ApiResponse({ status: 404, description: 'Unknown, or another business unit’s' })
  async history(@Req() request: FastifyRequest, @Param('contactId') contactId: string) {
    const reader = await this.credentials.requireReader(request);
    const id = contactIdField.parse(contactId, 'contactId');
    const events = await this.views.history(id);
    const owner = (await this.views.contact(id))?.businessUnitId;
    // Refusals may name an unknown contact: the platform sees them; an agent only its own unit's contacts.
    if (events.length === 0 || (reader.kind === 'agent' && owner !== reader.businessUnitId)) {
      throw new NotFoundException(`Contact ${id} not found`);
    }
    // An agent never learns about another business unit's agents: their refusals naming this contact are left out.
    const visible = reader.kind === 'platform' ? events : events.filter((e) => {
      const unit = e.data['businessUnitId'];
      return unit === undefined || unit === reader.businessUnitId;
    });
    return { contactId: id, events: visible };
  }

  private async visibleContact(reader: Reader, contactId: string) {
    const contact = await this.views.contact(contactId);
    if (!contact || (reader.kind === 'agent' && contact.businessUnitId !== reader.businessUnitId)) {
      throw new NotFoundException(`Contact ${contactId} not found`);
    }
    return contact;
  }
}

function stripUndefined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
