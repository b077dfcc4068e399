/** GET /metrics: Prometheus text. Positions are gauges of the SQLite log; lag is head minus checkpoint. */
import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { EventStore } from '#event-store';
import { FanoutService } from '../fanout/fanout.service.js';
import type { AppConfig } from '../config/configuration.js';
import { APP_CONFIG, EVENT_STORE } from '../infrastructure/tokens.js';
import { ViewsService } from '../infrastructure/views.service.js';
import { Metrics } from './metrics.js';

const FANOUT_STATES = ['starting', 'running', 'degraded', 'stopped'] as const;

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly views: ViewsService,
    private readonly fanout: FanoutService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics: EndContact outcomes and latency, subscription lag, fan-out state' })
  @ApiProduces('text/plain')
  async scrape(): Promise<string> {
    // The process metrics (event-loop delay, GC, heap, handles): the event-loop histogram restarts at every scrape.
    const process = await this.metrics.processMetrics();
    const head = (await this.store.headPosition()) ?? 0n;
    const lag = (checkpoint: bigint | undefined): number => Number(head - (checkpoint ?? 0n));
    const fanout = this.fanout.status();
    const checkpoints = [
      ...this.views.names.map((subscription) => ({ subscription, checkpoint: this.views.checkpoint })),
      ...(fanout ? [{ subscription: 'outcome-forwarder', checkpoint: fanout.checkpoint !== undefined ? BigInt(fanout.checkpoint) : undefined }] : []),
    ];
    const own = this.metrics.render([
      {
        name: 'contact_orchestrator_subscription_caught_up',
        help: '1 when the subscription has applied the last event of the log.',
        samples: checkpoints.map(({ subscription, checkpoint }) => ({ labels: { subscription }, value: (checkpoint ?? 0n) >= head ? 1 : 0 })),
      },
      // Positions count events only in the embedded store; an EventStoreDB position is a log offset pair.
      ...(this.config.eventStore === 'sqlite'
        ? [
            {
              name: 'contact_orchestrator_subscription_lag',
              help: 'Events between the log head and the subscription checkpoint (embedded SQLite store only).',
              samples: checkpoints.map(({ subscription, checkpoint }) => ({ labels: { subscription }, value: lag(checkpoint) })),
            },
          ]
        : []),
      {
        name: 'contact_orchestrator_fanout_state',
        help: 'The Kafka outcome forwarder state (1 for the current one); absent when KAFKA_BROKERS is not set.',
        samples: fanout ? FANOUT_STATES.map((state) => ({ labels: { state }, value: fanout.state === state ? 1 : 0 })) : [],
      },
    ]);
    return `${own}${process}`;
  }
}
