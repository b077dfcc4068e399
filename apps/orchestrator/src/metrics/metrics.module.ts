import { Module } from '@nestjs/common';
import { Metrics } from './metrics.js';

/** The Prometheus registry; the command handlers count into it, /metrics (observability) reads it. */
@Module({ providers: [Metrics], exports: [Metrics] })
export class MetricsModule {}
