/**
 * GET /metrics: Prometheus text. Positions are gauges of the SQLite log; lag is head minus checkpoint. With
 * METRICS_TOKEN set it needs that token or the platform token (docs/security.md); without, it is open.
 */
import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Credential } from '../directory/credential.guard.js';
import { StoreFailures } from '../http/openapi.js';
import { Gauge } from 'prom-client';
import type { EmbeddedLog, EventStore } from '#event-store';
import { FanoutService } from '../fanout/fanout.service.js';
import { EMBEDDED_LOG, EVENT_STORE } from '../infrastructure/tokens.js';
import { ViewsService } from '../read-side/views.service.js';
import { Metrics } from '../metrics/metrics.js';

const FANOUT_STATES = ['starting', 'running', 'degraded', 'stopped'] as const;

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    views: ViewsService,
    fanout: FanoutService,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(EMBEDDED_LOG) embedded: EmbeddedLog | null,
  ) {
    const registers = [metrics.registry];
    // Read at each scrape: the head and every checkpoint at one moment.
    const subscriptions = async () => {
      const head = (await store.headPosition()) ?? 0n;
      const forwarder = fanout.status();
      const checkpoints = [
        ...views.names.map((subscription) => ({ subscription, checkpoint: views.checkpoint })),
        ...(forwarder
          ? [
              {
                subscription: 'outcome-forwarder',
                checkpoint: forwarder.checkpoint !== undefined ? BigInt(forwarder.checkpoint) : undefined,
              },
            ]
          : []),
      ];
      return checkpoints.map(({ subscription, checkpoint }) => ({ subscription, head, checkpoint: checkpoint ?? 0n }));
    };
    new Gauge({
      name: 'contact_orchestrator_subscription_caught_up',
      help: '1 when the subscription has applied the last event of the log.',
      labelNames: ['subscription'] as const,
      registers,
      async collect() {
        this.reset();
        for (const { subscription, head, checkpoint } of await subscriptions())
          this.set({ subscription }, checkpoint >= head ? 1 : 0);
      },
    });
    // Positions count events only in the embedded store; an EventStoreDB position is a log offset pair.
    if (embedded) {
      new Gauge({
        name: 'contact_orchestrator_subscription_lag',
        help: 'Events between the log head and the subscription checkpoint (embedded SQLite store only).',
        labelNames: ['subscription'] as const,
        registers,
        async collect() {
          this.reset();
          for (const { subscription, head, checkpoint } of await subscriptions())
            this.set({ subscription }, Number(head - checkpoint));
        },
      });
    }
    new Gauge({
      name: 'contact_orchestrator_fanout_state',
      help: 'The Kafka outcome forwarder state (1 for the current one); absent when KAFKA_BROKERS is not set.',
      labelNames: ['state'] as const,
      registers,
      collect() {
        this.reset();
        const forwarder = fanout.status();
        if (forwarder) for (const state of FANOUT_STATES) this.set({ state }, forwarder.state === state ? 1 : 0);
      },
    });
  }

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
