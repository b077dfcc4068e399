/**
 * POST /v1/actions/end-a-contact: the Studio action. Inputs may be `{variable}` references; the answer is always
 * 200 with the branch the script takes (Default when the script does not define the one that applied).
 * A request that is not even shaped like the action (wrong types, unknown fields) is a 400 naming the field.
 */
import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import {
  BRANCHES,
  DEFAULT_SECURITY_USER_VARIABLE,
  SCRIPT_TYPES,
  resolveInput,
  selectBranch,
} from '#contacts';
import { clientAddressOf, commandIdOf, correlationIdOf } from '../http/command-context.js';
import { ViewsService } from '../read-side/views.service.js';
import { dictionary, identifier, jsonSchema, list, oneOf, optional, parseBody, text } from '../http/input.js';
import { EndContactCommand } from './end-contact.command.js';
import { studioBodyOf } from './end-contact.http.js';

const actionShape = {
  SecurityUser: optional(text({ maxLength: 8192, minLength: 0 })),
  ContactID: text({ maxLength: 256, minLength: 0 }),
  variables: optional(dictionary({ maxEntries: 1000, maxValueLength: 8192 })),
  branches: optional(list(oneOf(BRANCHES), { maxItems: BRANCHES.length })),
  scriptType: optional(oneOf(SCRIPT_TYPES)),
  commandId: optional(identifier()),
};

@ApiTags('studio')
@Controller('v1/actions')
export class StudioActionController {
  constructor(
    private readonly commands: CommandBus,
    private readonly views: ViewsService,
  ) {}

  @Post('end-a-contact')
  @HttpCode(200)
  @ApiOperation({ summary: 'The End a Contact Studio action', description: 'Always 200 {branch, condition, outputs, error?}' })
  @ApiBody({ schema: jsonSchema(actionShape) })
  async endAContact(@Req() request: FastifyRequest, @Body() body: unknown) {
    const input = parseBody(actionShape, body);
    const variables = input.variables ?? {};
    const securityUser = resolveInput(input.SecurityUser ?? `{${DEFAULT_SECURITY_USER_VARIABLE}}`, variables);
    const contactId = resolveInput(input.ContactID, variables);
    const commandId = commandIdOf(request, input.commandId);
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
      }),
    );
    if ('position' in result && result.position !== undefined) await this.views.caughtUp(result.position);
    return studioBodyOf(result, selectBranch(result.branch, input.branches));
  }
}
