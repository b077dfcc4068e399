/**
 * POST/GET /v1/admin/views/rebuild (platform): the online rebuild of the views (docs/design.md, Audit and replay). Reads keep using the
 * current views while the new ones are built; the swap is one transaction. A second POST while one runs is 409.
 */
import { ConflictException, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Credential } from '../http/credential.guard.js';
import { StoreFailures } from '../http/openapi.js';
import Type from 'typebox';
import { Problem } from '../http/schemas.js';
import { Input } from '../http/validation.js';
import { ViewsService } from '../read-side/views.service.js';

/** A body that may be left out, or be `{}`: nothing else. */
const EmptyBody = Type.Object({}, { additionalProperties: false });

const RebuildState = {
  type: 'object',
  required: ['state'],
  properties: {
    state: { type: 'string', enum: ['idle', 'building', 'swapping', 'done', 'failed'] },
    position: { type: 'string' },
    head: { type: 'string' },
    startedAt: { type: 'string' },
    finishedAt: { type: 'string' },
    eventsPerSecond: { type: 'number' },
    error: { type: 'string' },
  },
};
const STATE_DESCRIPTION =
  '{state: idle|building|swapping|done|failed, position, head, startedAt?, finishedAt?, eventsPerSecond?, error?}';

@ApiTags('admin')
@Controller('v1/admin/views/rebuild')
export class ViewsRebuildController {
  constructor(private readonly views: ViewsService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    operationId: 'StartViewsRebuild',
    summary: 'Rebuild the views online (platform credential): build beside the current ones, then swap atomically',
  })
  @Credential('platform')
  @Input({ body: EmptyBody, bodyRequired: false })
  @ApiResponse({ status: 202, description: `Started: ${STATE_DESCRIPTION}`, schema: RebuildState })
  @ApiResponse({ status: 400, description: 'A body other than {} (or none)', schema: Problem })
  @ApiResponse({ status: 409, description: 'A rebuild is already running', schema: Problem })
  @StoreFailures()
  start() {
    if (!this.views.startRebuild())
      throw new ConflictException(`A rebuild is already running (${this.views.rebuildState.state})`);
    return this.views.rebuildState;
  }

  @Get()
  @ApiOperation({ operationId: 'GetViewsRebuild', summary: 'Progress of the online rebuild (platform credential)' })
  @Credential('platform')
  @ApiResponse({ status: 200, description: STATE_DESCRIPTION, schema: RebuildState })
  state() {
    return this.views.rebuildState;
  }
}
