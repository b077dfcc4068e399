import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { FanoutModule } from '../fanout/fanout.module.js';
import { HealthController } from './health.controller.js';
import { LOGGER } from '../infrastructure/tokens.js';
import { requestLog, type AppLogger } from '../infrastructure/logger.js';
import { KafkaCommandsModule } from '../kafka/kafka-commands.module.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ReadSideModule } from '../read-side/read-side.module.js';

/** The request log, /metrics and /health. */
@Module({
  imports: [
    LoggerModule.forRootAsync({ imports: [], providers: [], inject: [LOGGER], useFactory: (logger: AppLogger) => requestLog(logger) }),
    TerminusModule,
    ReadSideModule,
    FanoutModule,
    KafkaCommandsModule,
    MetricsModule,
  ],
  controllers: [HealthController, MetricsController],
})
export class ObservabilityModule {}
