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
import { MetricsModule } from '../metrics/metrics.module.js';
import { ReadSideModule } from '../read-side/read-side.module.js';

/** Nest's logger, /metrics and /health (the request log is a Fastify hook: request-log.ts). */
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
    MetricsModule,
  ],
  controllers: [HealthController, MetricsController],
})
export class ObservabilityModule {}
