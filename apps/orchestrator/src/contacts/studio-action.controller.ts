/**
 * POST /v1/actions/end-a-contact: the Studio action. Inputs may be `{variable}` references; the answer is always
 * 200 with the branch the script takes (Default when the script does not define the one that applied).
 * A request that is not even shaped like the action (wrong types, unknown fields) is a 400 naming the field.
 */
import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { DEFAULT_SECURITY_USER_VARIABLE, resolveInput, selectBranch } from '#contacts';
import { CommandIdConflictError, clientAddressOf, commandIdOf, correlationIdOf } from '../http/command-context.js';
import { IdempotencyKeyHeader, Problem, type Static } from '../http/schemas.js';
import { StudioActionBody, StudioAnswer } from './contacts.schemas.js';
import { Input } from '../http/validation.js';
import { traceOf } from '../observability/tracing.js';
import { EndContactCommand } from './end-contact.command.js';
import { studioBodyOf } from './end-contact.http.js';

const STUDIO_EXAMPLES = {
  OnSuccess: {
    summary: 'OnSuccess',
    value: { branch: 'OnSuccess', condition: 'OnSuccess', outputs: { __DISCONNECTREASON: 'TerminateScript' } },
  },
  OnInvalidSecurityUser: {
    summary: 'OnInvalidSecurityUser',
    value: {
      branch: 'OnInvalidSecurityUser',
      condition: 'OnInvalidSecurityUser',
      outputs: {},
      error: { code: 'InvalidSecurityUser', message: 'The SecurityUser has expired' },
    },
  },
  OnUnauthorized: {
    summary: 'OnUnauthorized',
    value: {
      branch: 'OnUnauthorized',
      condition: 'OnUnauthorized',
      outputs: {},
      error: { code: 'Unauthorized', message: 'Agent ada lacks permission Contacts.End' },
    },
  },
  OnInvalidContactID: {
    summary: 'OnInvalidContactID, taken as Default when the script does not define it',
    value: {
      branch: 'Default',
      condition: 'OnInvalidContactID',
      outputs: {},
      error: { code: 'InvalidContactID', message: 'Contact 5000123 is not active' },
    },
  },
};

@ApiTags('studio')
@Controller('v1/actions')
export class StudioActionController {
  constructor(private readonly commands: CommandBus) {}

  @Post('end-a-contact')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'EndAContactAction',
    summary: 'The End a Contact Studio action',
    description: 'Always 200 {branch, condition, outputs, error?} for a request shaped like the action',
  })
  @Input({ headers: IdempotencyKeyHeader, body: StudioActionBody })
  @ApiResponse({
    status: 200,
    description: 'The branch the script takes',
    schema: StudioAnswer,
    examples: STUDIO_EXAMPLES,
  })
  @ApiResponse({
    status: 400,
    description: 'Not shaped like the action (wrong types, unknown fields), named',
    schema: Problem,
  })
  @ApiResponse({ status: 413, description: 'The body is over 1 MB', schema: Problem })
  @ApiResponse({ status: 415, description: 'The body is not application/json', schema: Problem })
  async endAContact(@Req() request: FastifyRequest, @Body() input: Static<typeof StudioActionBody>) {
    const variables = input.variables ?? {};
    const securityUser = resolveInput(input.SecurityUser ?? `{${DEFAULT_SECURITY_USER_VARIABLE}}`, variables);
    const contactId = resolveInput(input.ContactID, variables);
    let commandId: string;
    try {
      commandId = commandIdOf(request, input.commandId);
    } catch (error) {
      // Shaped like the action, so answered as one: the script takes Default.
      if (!(error instanceof CommandIdConflictError)) throw error;
      return {
        branch: 'Default',
        condition: 'Default',
        outputs: {},
        error: { code: 'CommandIdConflict', message: error.message },
      };
    }
    const result = await this.commands.execute(
      new EndContactCommand({
        // An unresolved reference is kept as written: it then fails the check it belongs to, in the seed's order.
        contactId: contactId.ok ? contactId.value : input.ContactID,
        securityUser: securityUser.ok ? securityUser.value : undefined,
        ...(securityUser.ok ? {} : { securityUserProblem: securityUser.detail }),
        commandId,
        correlationId: correlationIdOf(request, commandId),
        source: 'studio-action',
        clientAddress: clientAddressOf(request),
        ...traceOf(request),
      }),
    );
    return studioBodyOf(result, selectBranch(result.branch, input.branches));
  }
}
