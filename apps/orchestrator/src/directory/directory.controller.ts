/** Platform administration of the security directory, and SetSecurityUser. */
import {
  applyDecorators,
  Body,
  ConflictException,
  Controller,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Put,
  Req,
} from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { metadataFor } from '../http/command-context.js';
import { openApiSchema, Problem, type Schema, type Static } from '../http/schemas.js';
import { Input } from '../http/validation.js';
import { StoreFailures } from '../http/openapi.js';
import { Credential } from '../http/credential.guard.js';
import {
  Agent,
  AgentBody,
  AgentPath,
  IssuedSecurityUser,
  Profile,
  ProfileBody,
  ProfilePath,
  SecurityUserBody,
} from './directory.schemas.js';
import { DirectoryService, InactiveAgentError, UnknownAgentError } from './directory.service.js';

type Answer = { status: number; description: string; schema: Schema };

/**
 * A write of the directory by the platform: its operation, the platform credential, validated input, its answer, a
 * named 400, its own refusals, and the store's 503. Applied in the order stacked decorators would be (bottom first),
 * so the OpenAPI document lists the responses as before.
 */
const PlatformWrite = (route: {
  operation: { operationId: string; summary: string };
  input: Parameters<typeof Input>[0];
  answer: Answer;
  refusals?: Answer[];
}): MethodDecorator =>
  applyDecorators(
    StoreFailures(),
    ...[...(route.refusals ?? [])]
      .reverse()
      .map((refusal) => ApiResponse({ ...refusal, schema: openApiSchema(refusal.schema) })),
    ApiResponse({ status: 400, description: 'A field out of format, named', schema: Problem }),
    ApiResponse({ ...route.answer, schema: openApiSchema(route.answer.schema) }),
    Input(route.input),
    Credential('platform'),
    ApiOperation(route.operation),
  );

@ApiTags('directory')
@Controller('v1')
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  @Put('security-profiles/:profileId')
  @PlatformWrite({
    operation: { operationId: 'PutSecurityProfile', summary: 'Define a security profile (platform credential)' },
    input: { params: ProfilePath, body: ProfileBody },
    answer: { status: 200, description: 'The profile', schema: Profile },
  })
  async putProfile(
    @Req() request: FastifyRequest,
    @Param() params: Static<typeof ProfilePath>,
    @Body() body: Static<typeof ProfileBody>,
  ) {
    return this.directory.putProfile(
      { profileId: params.profileId, ...body },
      metadataFor(request, randomUUID(), 'http'),
    );
  }

  @Put('agents/:agentId')
  @PlatformWrite({
    operation: { operationId: 'PutAgent', summary: 'Register or update an agent (platform credential)' },
    input: { params: AgentPath, body: AgentBody },
    answer: { status: 200, description: 'The agent', schema: Agent },
  })
  async putAgent(
    @Req() request: FastifyRequest,
    @Param() params: Static<typeof AgentPath>,
    @Body() body: Static<typeof AgentBody>,
  ) {
    return this.directory.putAgent({ agentId: params.agentId, ...body }, metadataFor(request, randomUUID(), 'http'));
  }

  @Post('security-users')
  @HttpCode(201)
  @PlatformWrite({
    operation: {
      operationId: 'SetSecurityUser',
      summary: 'SetSecurityUser: a signed, expiring credential for an active agent (platform credential)',
    },
    input: { body: SecurityUserBody },
    answer: { status: 201, description: 'The SecurityUser', schema: IssuedSecurityUser },
    refusals: [
      { status: 404, description: 'Unknown agent', schema: Problem },
      { status: 409, description: 'Inactive agent', schema: Problem },
    ],
  })
  async setSecurityUser(@Body() body: Static<typeof SecurityUserBody>) {
    try {
      return await this.directory.issue(body.agentId);
    } catch (error) {
      if (error instanceof UnknownAgentError) throw new NotFoundException(error.message);
      if (error instanceof InactiveAgentError) throw new ConflictException(error.message);
      throw error;
    }
  }
}
