/**
 * GET /health: liveness and readiness (event store reachable, views caught up with the log). The report (each check,
 * the log head, checkpoints, Kafka errors, the identity provider's key set) goes to a caller with METRICS_TOKEN or the platform token; anyone else,
 * a wrong token included (a load balancer with a stale one still probes), gets the status alone with the same
 * status code: `{"status":"ok"}` 200 or `{"status":"error"}` 503 (docs/security.md).
 */
import { Controller, Get, HttpException, Inject, Req, ServiceUnavailableException } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Health } from './health.schemas.js';
import { HealthCheck, HealthCheckService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import type { EventStore } from '#event-store';
import { METRICS_SCHEME, PLATFORM_SCHEME } from '../http/credential.guard.js';
import { Credentials } from '../directory/credentials.js';
import { IdentityProvider } from '../directory/identity-provider.js';
import { bearerToken } from '../http/auth.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { ViewsService } from '../read-side/views.service.js';
import { EVENT_STORE, LOGGER } from '../infrastructure/tokens.js';
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
    private readonly credentials: Credentials,
    private readonly identityProvider: IdentityProvider,
    @Inject(LOGGER) private readonly logger: AppLogger,
  ) {}

  @Get()
  // Terminus' own OpenAPI answers would replace the two below (and require `details`): left out.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiBearerAuth(METRICS_SCHEME)
  @ApiBearerAuth(PLATFORM_SCHEME)
  // `{}`: no credential is needed; one only adds the details.
  @ApiSecurity({})
  @ApiOperation({
    operationId: 'Health',
    summary: 'Liveness and readiness',
    description:
      'With METRICS_TOKEN or the platform token: every check with its details. Without (or with any other token): `{"status"}` alone.',
  })
  @ApiResponse({
    status: 200,
    description: 'Every check up: the report with each check’s details, or `{"status": "ok"}` alone',
    schema: Health,
  })
  @ApiResponse({
    status: 503,
    description: 'A check down: the same report, each check with its details, or `{"status": "error"}` alone',
    schema: Health,
  })
  async check(@Req() request: FastifyRequest): Promise<HealthCheckResult | { status: string }> {
    if (this.credentials.isMetricsOrPlatform(bearerToken(request))) return this.report();
    try {
      return { status: (await this.report()).status };
    } catch (error) {
      // Whatever failed, this caller learns that it did and nothing more; an unexpected error is still logged.
      if (!(error instanceof HttpException)) this.logger.error({ err: error }, 'health check failed');
      throw new ServiceUnavailableException({ status: 'error' });
    }
  }

  private report(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.eventStore(),
      () => this.projections(),
      () => this.kafkaCommands.check(),
      () => this.fanout.check(),
      () => this.identityProviderKeys(),
    ]);
  }

  private async eventStore(): Promise<HealthIndicatorResult> {
    try {
      await this.store.ping();
      return { eventStore: { status: 'up' } };
    } catch (error) {
      throw new ServiceUnavailableException({ eventStore: { status: 'down', message: (error as Error).message } });
    }
  }

  /**
   * The identity provider's key set, when one is configured: always up (the last good keys still verify while the
   * provider does not answer), its state saying whether it does.
   */
  private identityProviderKeys(): HealthIndicatorResult {
    const health = this.identityProvider.health();
    return health === undefined ? {} : { identityProvider: health };
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
