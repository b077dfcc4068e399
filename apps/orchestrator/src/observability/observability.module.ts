import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { DirectoryModule } from '../directory/directory.module.js';
import { FanoutModule } from '../fanout/fanout.module.js';
import { HealthController } from './health.controller.js';
import { LOGGER } from '../infrastructure/tokens.js';
import { nestLogger, type AppLogger } from '../infrastructure/logger.js';
import { KafkaCommandsModule } from '../kafka/kafka-commands.module.js';
import { MetricsController } from './metrics.controller.js';
import { Metrics } from './metrics.js';
import { ReadSideModule } from '../read-side/read-side.module.js';
import { ServiceGauges } from './service-gauges.js';

/**
 * Nest's logger, /health, and the metrics: the registry (Metrics, which the command handlers count into), the gauges
 * read at scrape time (ServiceGauges) and /metrics. The request log is a Fastify hook (request-log.ts).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      imports: [],
      providers: [],
      inject: [LOGGER],
      useFactory: (logger: AppLogger) => nestLogger(logger),
    }),
    TerminusModule,
    DirectoryModule,
    ReadSideModule,
    FanoutModule,
    KafkaCommandsModule,
  ],
  controllers: [HealthController, MetricsController],
  providers: [Metrics, ServiceGauges],
  exports: [Metrics],
})
export class ObservabilityModule {}
