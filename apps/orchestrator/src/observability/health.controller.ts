/** GET /health: liveness and readiness (event store reachable, views caught up with the log). */
import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Health } from '../http/schemas.js';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { EventStore } from '#event-store';
import { ViewsService } from '../read-side/views.service.js';
import { EVENT_STORE } from '../infrastructure/tokens.js';
import { KafkaCommandsStatus } from '../kafka/kafka-support.js';
import { FanoutService } from '../fanout/fanout.service.js';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly views: ViewsService,
    private readonly kafkaCommands: KafkaCommandsStatus,
    private readonly fanout: FanoutService,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ operationId: 'Health', summary: 'Liveness and readiness' })
  @ApiResponse({ status: 200, description: 'Every check up, with its details', schema: Health })
  @ApiResponse({ status: 503, description: 'A check down: the same report, each check with its details', schema: Health })
  check() {
    return this.health.check([() => this.eventStore(), () => this.projections(), () => this.kafkaCommands.check(), () => this.fanout.check()]);
  }

  private async eventStore(): Promise<HealthIndicatorResult> {
    try {
      await this.store.ping();
      return { eventStore: { status: 'up' } };
    } catch (error) {
      throw new ServiceUnavailableException({ eventStore: { status: 'down', message: (error as Error).message } });
    }
  }

  private async projections(): Promise<HealthIndicatorResult> {
    const head = (await this.store.headPosition()) ?? 0n;
    const result: HealthIndicatorResult = {};
    const checkpoint = this.views.checkpoint ?? 0n;
    const error = this.views.error;
    for (const name of this.views.names) {
      result[name] = {
        status: error === undefined ? 'up' : 'down',
        checkpoint: checkpoint.toString(),
        head: head.toString(),
        caughtUp: checkpoint >= head,
        ...(error !== undefined ? { error } : {}),
      };
    }
    return result;
  }
}
