/** POST /v1/contacts/end-batch (docs/design.md, Bulk end): parse, call the bus, answer every contact's branch and a summary. */
import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SECURITY_USER_SCHEME } from '../http/credential.guard.js';
import { bearerToken } from '../http/auth.js';
import { clientAddressOf, commandIdOf } from '../http/command-context.js';
import { StoreFailures } from '../http/openapi.js';
import { IdempotencyKeyHeader, Problem, type Static } from '../http/schemas.js';
import { EndBatchBody, MAX_BATCH } from './contacts.schemas.js';
import { Input } from '../http/validation.js';
import { EndContactBatchCommand, type BatchSelection } from './end-contact-batch.command.js';
import { traceOf } from '../observability/tracing.js';

export { MAX_BATCH };

const BatchAnswer = {
  type: 'object',
  required: ['batchId', 'results', 'summary'],
  properties: {
    batchId: { type: 'string' },
    branch: { type: 'string', description: 'present when the whole batch was refused (the caller)' },
    error: { type: 'object' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['contactId', 'branch', 'status'],
        properties: {
          contactId: { type: 'string' },
          branch: { type: 'string' },
          status: { type: 'integer' },
          error: { type: 'object' },
        },
      },
    },
    summary: { type: 'object', additionalProperties: { type: 'integer' }, description: 'contacts per branch' },
  },
};

@ApiTags('contacts')
@Controller('v1/contacts')
export class EndContactBatchController {
  constructor(private readonly commands: CommandBus) {}

  @Post('end-batch')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'EndContactBatch',
    summary:
      'End up to 1,000 contacts: listed by ID, or the active contacts of your business unit matching a filter (SecurityUser with Contacts.End)',
    description:
      'Each contact goes through the same EndContact path as a single end; the batch command ID is every end’s correlationId.',
  })
  @ApiBearerAuth(SECURITY_USER_SCHEME)
  @Input({ headers: IdempotencyKeyHeader, body: EndBatchBody, credentialFirst: true })
  @ApiResponse({
    status: 200,
    description:
      '{batchId, results: [{contactId, branch, status, error?}], summary: {branch: count}}; partial success is normal',
    schema: BatchAnswer,
  })
  @ApiResponse({ status: 400, description: 'Bad input, naming the field', schema: Problem })
  @ApiResponse({
    status: 401,
    description: 'OnInvalidSecurityUser for the whole batch; a problem when no credential came at all',
    schema: { anyOf: [BatchAnswer, Problem] },
  })
  @ApiResponse({ status: 403, description: 'OnUnauthorized: no Contacts.End', schema: BatchAnswer })
  @ApiResponse({ status: 409, description: 'Idempotency-Key and the body’s commandId differ', schema: Problem })
  @StoreFailures()
  async endBatch(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Body() input: Static<typeof EndBatchBody>,
  ) {
    const selection = selectionOf(input);
    const batchId = commandIdOf(request, input.commandId);
    const answer = await this.commands.execute(
      new EndContactBatchCommand({
        selection,
        securityUser: bearerToken(request),
        batchId,
        keyed: request.headers['idempotency-key'] !== undefined || input.commandId !== undefined,
        clientAddress: clientAddressOf(request),
        ...traceOf(request),
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

/** EndBatchBody already holds exactly one form, and limit only with filter (RequestGuard checked it). */
function selectionOf(input: { contactIds?: string[]; filter?: Filter; limit?: number }): BatchSelection {
  if (input.contactIds !== undefined) return { kind: 'ids', contactIds: input.contactIds };
  return { kind: 'filter', filter: input.filter ?? {}, limit: input.limit ?? MAX_BATCH };
}
