/**
 * The gauges read at each scrape from the views, the forwarder and the store: whether the subscriptions keep up, how
 * far behind they are, and the forwarder's state. Registered once, in the service's registry (metrics.ts), when the
 * module starts; /metrics (metrics.controller.ts) only writes the registry out.
 */
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import type { EventStore } from '#event-store';
import { FanoutService } from '../fanout/fanout.service.js';
import type { StoreCapabilities } from '../infrastructure/event-store.provider.js';
import { EVENT_STORE, STORE_CAPABILITIES } from '../infrastructure/tokens.js';
import { ViewsService } from '../read-side/views.service.js';
import { Metrics } from './metrics.js';

const FANOUT_STATES = ['starting', 'running', 'standby', 'degraded', 'stopped'] as const;

type Progress = { subscription: string; head: bigint; checkpoint: bigint };

@Injectable()
export class ServiceGauges implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly views: ViewsService,
    private readonly fanout: FanoutService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(STORE_CAPABILITIES) private readonly capabilities: StoreCapabilities,
  ) {}

  onModuleInit(): void {
    const registers = [this.metrics.registry];
    const subscriptions = () => this.subscriptions();
    const fanout = this.fanout;
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
    // Only where positions count events (the embedded store; an EventStoreDB position is a pair of log offsets).
    if (this.capabilities.positionsCountEvents) {
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

  /** The head and every checkpoint at one moment, read at each scrape. */
  private async subscriptions(): Promise<Progress[]> {
    const head = (await this.store.headPosition()) ?? 0n;
    const forwarder = this.fanout.status();
    const checkpoints = [
      ...this.views.names.map((subscription) => ({ subscription, checkpoint: this.views.checkpoint })),
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
  }
}
