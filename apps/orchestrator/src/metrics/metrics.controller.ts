/** GET /metrics: Prometheus text. Positions are gauges of the SQLite log; lag is head minus checkpoint. */
import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { EventStore } from '../../../../libs/event-store/src/index.js';
import { FanoutService } from '../fanout/fanout.service.js';
import { EVENT_STORE } from '../infrastructure/tokens.js';
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
  ) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics: EndContact outcomes and latency, subscription lag, fan-out state' })
  @ApiProduces('text/plain')
  async scrape(): Promise<string> {
    const head = (await this.store.headPosition()) ?? 0n;
    const lag = (checkpoint: bigint | undefined): number => Number(head - (checkpoint ?? 0n));
    const fanout = this.fanout.status();
    return this.metrics.render([
      {
        name: 'contact_orchestrator_subscription_lag',
        help: 'Log head minus the subscription checkpoint (events behind, for SQLite).',
        samples: [
          { labels: { subscription: this.views.contacts.name }, value: lag(this.views.contacts.checkpoint) },
          { labels: { subscription: this.views.directory.name }, value: lag(this.views.directory.checkpoint) },
          ...(fanout ? [{ labels: { subscription: 'outcome-forwarder' }, value: fanout.lag ?? lag(fanout.checkpoint ? BigInt(fanout.checkpoint) : undefined) }] : []),
        ],
      },
      {
        name: 'contact_orchestrator_fanout_state',
        help: 'The Kafka outcome forwarder state (1 for the current one); absent when KAFKA_BROKERS is not set.',
        samples: fanout ? FANOUT_STATES.map((state) => ({ labels: { state }, value: fanout.state === state ? 1 : 0 })) : [],
      },
    ]);
  }
}
