/** Platform administration of the security directory, and SetSecurityUser. */
import {
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
import { Problem, type Static } from '../http/schemas.js';
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

@ApiTags('directory')
@Controller('v1')
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  @Put('security-profiles/:profileId')
  @ApiOperation({ operationId: 'PutSecurityProfile', summary: 'Define a security profile (platform credential)' })
  @Credential('platform')
  @Input({ params: ProfilePath, body: ProfileBody })
  @ApiResponse({ status: 200, description: 'The profile', schema: Profile })
  @ApiResponse({ status: 400, description: 'A field out of format, named', schema: Problem })
  @StoreFailures()
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
  @ApiOperation({ operationId: 'PutAgent', summary: 'Register or update an agent (platform credential)' })
  @Credential('platform')
  @Input({ params: AgentPath, body: AgentBody })
  @ApiResponse({ status: 200, description: 'The agent', schema: Agent })
  @ApiResponse({ status: 400, description: 'A field out of format, named', schema: Problem })
  @StoreFailures()
  async putAgent(
    @Req() request: FastifyRequest,
    @Param() params: Static<typeof AgentPath>,
    @Body() body: Static<typeof AgentBody>,
  ) {
    return this.directory.putAgent({ agentId: params.agentId, ...body }, metadataFor(request, randomUUID(), 'http'));
  }

  @Post('security-users')
  @HttpCode(201)
  @ApiOperation({
    operationId: 'SetSecurityUser',
    summary: 'SetSecurityUser: a signed, expiring credential for an active agent (platform credential)',
  })
  @Credential('platform')
  @Input({ body: SecurityUserBody })
  @ApiResponse({ status: 201, description: 'The SecurityUser', schema: IssuedSecurityUser })
  @ApiResponse({ status: 400, description: 'A field out of format, named', schema: Problem })
  @ApiResponse({ status: 404, description: 'Unknown agent', schema: Problem })
  @ApiResponse({ status: 409, description: 'Inactive agent', schema: Problem })
  @StoreFailures()
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
