/** REST for contacts: register, end, read (view, list, history). Thin: parse, call the bus, map the answer. */
import {
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
  applyDecorators,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ViewsService } from '../read-side/views.service.js';
import { Credential, SECURITY_USER_SCHEME, readerOf } from '../http/credential.guard.js';
import type { Reader } from '../http/auth.js';
import { bearerToken } from '../http/auth.js';
import { clientAddressOf, commandIdOf, correlationIdOf, metadataFor } from '../http/command-context.js';
import { StoreFailures } from '../http/openapi.js';
import { IdempotencyKeyHeader, openApiSchema, Problem, type Schema, type Static } from '../http/schemas.js';
import { Input, InvalidInputError } from '../http/validation.js';
import { parsePointInTime } from '../read-side/point-in-time.js';
import {
  ContactAtQuery,
  ContactPage,
  ContactPath,
  ContactView,
  END_EXAMPLES,
  EndAnswer,
  EndContactBody,
  HistoryPage,
  HistoryQuery,
  ListQuery,
  StartContactBody,
  StartedContact,
} from './contacts.schemas.js';
import { EndContactCommand } from './end-contact.command.js';
import { traceOf } from '../observability/tracing.js';
import { httpStatusOf, restBodyOf } from './end-contact.http.js';
import { StartContactCommand } from './start-contact.command.js';

/** An answer of the end endpoint: the `{contactId, branch, …}` body, with an example per branch it can carry. */
const endAnswer = (status: number, description: string, ...examples: Array<keyof typeof END_EXAMPLES>) =>
  ApiResponse({
    status,
    description,
    content: {
      'application/json': {
        schema: openApiSchema(EndAnswer),
        ...(examples.length
          ? { examples: Object.fromEntries(examples.map((e) => [e, { value: END_EXAMPLES[e] }])) }
          : {}),
      },
    },
  });

/**
 * A read of one contact by its ID, for a reader (the platform, or a SecurityUser with Contacts.View): the path and
 * `query` checked, 404 for an unknown contact and another business unit's alike (with `notFoundAlso`, what else
 * answers 404), and the store's 503.
 */
const ReadOfOneContact = (query: Schema, notFoundAlso?: string) =>
  applyDecorators(
    Credential('reader'),
    Input({ params: ContactPath, query }),
    ApiResponse({
      status: 404,
      description: `Unknown, or another business unit’s${notFoundAlso === undefined ? '' : `; ${notFoundAlso}`}`,
      schema: Problem,
    }),
    StoreFailures(),
  );

@ApiTags('contacts')
@Controller('v1/contacts')
export class ContactsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly views: ViewsService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ operationId: 'StartContact', summary: 'Register a live contact (platform credential)' })
  @Credential('platform')
  @Input({ headers: IdempotencyKeyHeader, body: StartContactBody })
  @ApiResponse({ status: 201, description: 'The contact, Active', schema: StartedContact })
  @ApiResponse({ status: 400, description: 'A field out of format, named', schema: Problem })
  @ApiResponse({ status: 409, description: 'A contact with this ID exists', schema: Problem })
  @StoreFailures()
  async start(@Req() request: FastifyRequest, @Body() body: Static<typeof StartContactBody>) {
    const commandId = commandIdOf(request, undefined);
    const keyed = request.headers['idempotency-key'] !== undefined;
    const result = await this.commands.execute(
      new StartContactCommand({
        ...body,
        metadata: metadataFor(request, commandId, 'http'),
        ...(keyed ? { idempotencyKey: commandId } : {}),
      }),
    );
    if (result.result === 'AlreadyExists') throw new ConflictException(result.detail);
    const { result: _started, ...contact } = result;
    return contact;
  }

  @Post(':contactId/end')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'EndContact',
    summary: 'End a contact (SecurityUser credential)',
    description:
      'Branches: 200 OnSuccess, 401 OnInvalidSecurityUser, 403 OnUnauthorized, 400/404/409 OnInvalidContactID, 503 Default',
  })
  @ApiBearerAuth(SECURITY_USER_SCHEME)
  @Input({
    documentedParams: ContactPath,
    headers: IdempotencyKeyHeader,
    body: EndContactBody,
    bodyRequired: false,
    credentialFirst: true,
  })
  @endAnswer(200, 'OnSuccess: outputs.__DISCONNECTREASON = TerminateScript', 'OnSuccess')
  @endAnswer(
    400,
    'OnInvalidContactID (malformed ID), or a malformed request (branch Default, error.code InvalidRequest)',
    'OnInvalidContactID',
  )
  @endAnswer(
    401,
    'OnInvalidSecurityUser: missing, malformed, forged, expired, or its agent inactive',
    'OnInvalidSecurityUser',
  )
  @endAnswer(403, 'OnUnauthorized: no Contacts.End', 'OnUnauthorized')
  @endAnswer(404, 'OnInvalidContactID: unknown, or another business unit’s (same answer)', 'OnInvalidContactID')
  @endAnswer(
    409,
    'OnInvalidContactID: not active (already ended); or Default with error.code CommandIdConflict when Idempotency-Key and the body’s commandId differ',
    'OnInvalidContactID',
  )
  @endAnswer(413, 'Default: the body is over HTTP_BODY_LIMIT_BYTES (16 KB)')
  @endAnswer(415, 'Default: the body is not application/json')
  @endAnswer(503, 'Default: event store unavailable, nothing written', 'Default')
  async end(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('contactId') contactId: string,
    @Body() body: Static<typeof EndContactBody> | null | undefined,
  ) {
    const commandId = commandIdOf(request, body?.commandId);
    const result = await this.commands.execute(
      new EndContactCommand({
        contactId,
        securityUser: bearerToken(request),
        commandId,
        correlationId: correlationIdOf(request, commandId),
        source: 'http',
        clientAddress: clientAddressOf(request),
        ...traceOf(request),
      }),
    );
    const status = httpStatusOf(result);
    if (status === 401) void reply.header('www-authenticate', 'Bearer');
    void reply.status(status).send(restBodyOf(result));
  }

  @Get()
  @ApiOperation({ operationId: 'ListContacts', summary: 'List contacts of the view, paged by contactId' })
  @Credential('reader')
  @Input({ query: ListQuery })
  @ApiResponse({ status: 200, description: '{items, next?}: pass next as ?after=', schema: openApiSchema(ContactPage) })
  @ApiResponse({ status: 400, description: 'A parameter out of format, named', schema: Problem })
  @StoreFailures()
  async list(@Req() request: FastifyRequest, @Query() query: Static<typeof ListQuery>) {
    const reader = readerOf(request);
    let businessUnitId = query.businessUnitId;
    if (reader.kind === 'agent') {
      if (businessUnitId !== undefined && businessUnitId !== reader.businessUnitId) {
        throw new ForbiddenException(`businessUnitId must be your own business unit (${reader.businessUnitId})`);
      }
      businessUnitId = reader.businessUnitId;
    }
    return (await this.views.current()).list({
      ...(query.state !== undefined ? { state: query.state } : {}),
      ...(query.mediaType !== undefined ? { mediaType: query.mediaType } : {}),
      ...(businessUnitId !== undefined ? { businessUnitId } : {}),
      ...(query.after !== undefined ? { after: query.after } : {}),
      limit: query.limit === undefined ? 100 : Number(query.limit),
    });
  }

  @Get(':contactId')
  @ApiOperation({
    operationId: 'GetContact',
    summary: 'One contact of the live view, or as it stood at a point of the log (`at`)',
  })
  @ReadOfOneContact(ContactAtQuery, 'with `at`, not started yet at that point')
  @ApiResponse({ status: 200, description: 'The contact view', schema: openApiSchema(ContactView) })
  @ApiResponse({
    status: 400,
    description: 'contactId out of format, or an `at` that is not a position or an existing time',
    schema: Problem,
  })
  async get(
    @Req() request: FastifyRequest,
    @Param() params: Static<typeof ContactPath>,
    @Query() query: Static<typeof ContactAtQuery>,
  ) {
    const reader = readerOf(request);
    if (query.at === undefined) return this.visibleContact(reader, params.contactId);
    const point = parsePointInTime(query.at);
    if (point === undefined)
      throw new InvalidInputError('at', 'must be a log position or an ISO-8601 time that exists');
    const contact = await this.views.contactAt(params.contactId, point);
    if (!contact || (reader.kind === 'agent' && contact.businessUnitId !== reader.businessUnitId)) {
      throw new NotFoundException(`Contact ${params.contactId} not found at ${query.at}`);
    }
    return contact;
  }

  @Get(':contactId/history')
  @ApiOperation({
    operationId: 'GetContactHistory',
    summary: 'The contact’s events in log order, refusals that named it included; paged',
  })
  @ReadOfOneContact(HistoryQuery)
  @ApiResponse({
    status: 200,
    description: '{contactId, events, next?}: pass next as ?after=',
    schema: openApiSchema(HistoryPage),
  })
  @ApiResponse({ status: 400, description: 'A parameter out of format, named', schema: Problem })
  async history(
    @Req() request: FastifyRequest,
    @Param() params: Static<typeof ContactPath>,
    @Query() query: Static<typeof HistoryQuery>,
  ) {
    const reader = readerOf(request);
    const id = params.contactId;
    const views = await this.views.current();
    // Refusals may name an unknown contact: the platform sees them; an agent only its own unit's contacts.
    if (reader.kind === 'agent') {
      const owner = (await views.contact(id))?.businessUnitId;
      if (owner !== reader.businessUnitId) throw new NotFoundException(`Contact ${id} not found`);
    } else if (!(await views.hasHistory(id))) {
      throw new NotFoundException(`Contact ${id} not found`);
    }
    // An agent never learns about another business unit's agents: their refusals naming this contact are left out.
    const page = await views.history(id, {
      limit: query.limit === undefined ? 100 : Number(query.limit),
      ...(query.after !== undefined ? { after: query.after } : {}),
      ...(reader.kind === 'agent' ? { businessUnitId: reader.businessUnitId } : {}),
    });
    return { contactId: id, ...page };
  }

  private async visibleContact(reader: Reader, contactId: string) {
    const contact = await (await this.views.current()).contact(contactId);
    if (!contact || (reader.kind === 'agent' && contact.businessUnitId !== reader.businessUnitId)) {
      throw new NotFoundException(`Contact ${contactId} not found`);
    }
    return contact;
  }
}
