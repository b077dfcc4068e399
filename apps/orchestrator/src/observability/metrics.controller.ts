/**
 * GET /metrics: the service's registry (metrics.ts, service-gauges.ts) as Prometheus text. With METRICS_TOKEN set it
 * needs that token or the platform token (docs/security.md); without, it is open.
 */
import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Credential } from '../directory/credential.guard.js';
import { StoreFailures } from '../http/openapi.js';
import { Metrics } from './metrics.js';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Credential('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiResponse({
    status: 200,
    description: 'Prometheus text exposition',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @StoreFailures()
  @ApiOperation({
    operationId: 'Metrics',
    summary: 'Prometheus metrics: EndContact outcomes and latency, subscription lag, fan-out state, process',
    description:
      'With METRICS_TOKEN set: `Authorization: Bearer` METRICS_TOKEN or the platform token, else 401. Without it: open (set it).',
  })
  @ApiProduces('text/plain')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
