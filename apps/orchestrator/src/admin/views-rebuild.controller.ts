/**
 * POST/GET /v1/admin/views/rebuild (platform): the online rebuild of the views (DESIGN §9). Reads keep using the
 * current views while the new ones are built; the swap is one transaction. A second POST while one runs is 409.
 */
import { Body, ConflictException, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Credentials } from '../directory/credentials.js';
import { parseBody } from '../http/input.js';
import { ViewsService } from '../read-side/views.service.js';

const STATE_DESCRIPTION = '{state: idle|building|swapping|done|failed, position, head, startedAt?, finishedAt?, eventsPerSecond?, error?}';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/views/rebuild')
export class ViewsRebuildController {
  constructor(
    private readonly credentials: Credentials,
    private readonly views: ViewsService,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Rebuild the views online (platform credential): build beside the current ones, then swap atomically' })
  @ApiResponse({ status: 202, description: `Started: ${STATE_DESCRIPTION}` })
  @ApiResponse({ status: 401, description: 'Not the platform credential' })
  @ApiResponse({ status: 409, description: 'A rebuild is already running' })
  start(@Req() request: FastifyRequest, @Body() body: unknown) {
    this.credentials.requirePlatform(request);
    parseBody({}, body, { allowMissingBody: true });
    if (!this.views.startRebuild()) throw new ConflictException(`A rebuild is already running (${this.views.rebuildState.state})`);
    return this.views.rebuildState;
  }

  @Get()
  @ApiOperation({ summary: 'Progress of the online rebuild (platform credential)' })
  @ApiResponse({ status: 200, description: STATE_DESCRIPTION })
  @ApiResponse({ status: 401, description: 'Not the platform credential' })
  state(@Req() request: FastifyRequest) {
    this.credentials.requirePlatform(request);
    return this.views.rebuildState;
  }
}
