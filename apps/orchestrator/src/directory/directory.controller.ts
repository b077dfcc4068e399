/** Platform administration of the security directory, and SetSecurityUser. */
import { Body, ConflictException, Controller, HttpCode, NotFoundException, Param, Post, Put, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { KNOWN_PERMISSIONS } from '#security';
import { Credentials } from './credentials.js';
import { commandIdOf, metadataFor } from '../http/command-context.js';
import { bool, identifier, jsonSchema, list, oneOf, parseBody, text } from '../http/input.js';
import { DirectoryService, InactiveAgentError, UnknownAgentError } from './directory.service.js';

const profileShape = { name: text({ maxLength: 128 }), permissions: list(oneOf(KNOWN_PERMISSIONS), { maxItems: 32 }) };
const agentShape = { businessUnitId: identifier(), securityProfileId: identifier(), active: bool() };
const securityUserShape = { agentId: identifier() };
const idField = identifier();

@ApiTags('directory')
@ApiBearerAuth()
@Controller('v1')
export class DirectoryController {
  constructor(
    private readonly directory: DirectoryService,
    private readonly credentials: Credentials,
  ) {}

  @Put('security-profiles/:profileId')
  @ApiOperation({ summary: 'Define a security profile (platform credential)' })
  @ApiBody({ schema: jsonSchema(profileShape) })
  async putProfile(@Req() request: FastifyRequest, @Param('profileId') profileId: string, @Body() body: unknown) {
    this.credentials.requirePlatform(request);
    const id = idField.parse(profileId, 'profileId');
    const input = parseBody(profileShape, body);
    return this.directory.putProfile({ profileId: id, ...input }, metadataFor(request, commandIdOf(request, undefined), 'http'));
  }

  @Put('agents/:agentId')
  @ApiOperation({ summary: 'Register or update an agent (platform credential)' })
  @ApiBody({ schema: jsonSchema(agentShape) })
  async putAgent(@Req() request: FastifyRequest, @Param('agentId') agentId: string, @Body() body: unknown) {
    this.credentials.requirePlatform(request);
    const id = idField.parse(agentId, 'agentId');
    const input = parseBody(agentShape, body);
    return this.directory.putAgent({ agentId: id, ...input }, metadataFor(request, commandIdOf(request, undefined), 'http'));
  }

  @Post('security-users')
  @HttpCode(201)
  @ApiOperation({ summary: 'SetSecurityUser: a signed, expiring credential for an active agent (platform credential)' })
  @ApiBody({ schema: jsonSchema(securityUserShape) })
  @ApiResponse({ status: 201, description: '{securityUser, agentId, businessUnitId, expiresAt}' })
  @ApiResponse({ status: 404, description: 'Unknown agent' })
  @ApiResponse({ status: 409, description: 'Inactive agent' })
  async setSecurityUser(@Req() request: FastifyRequest, @Body() body: unknown) {
    this.credentials.requirePlatform(request);
    const { agentId } = parseBody(securityUserShape, body);
    try {
      return await this.directory.issue(agentId);
    } catch (error) {
      if (error instanceof UnknownAgentError) throw new NotFoundException(error.message);
      if (error instanceof InactiveAgentError) throw new ConflictException(error.message);
      throw error;
    }
  }
}
