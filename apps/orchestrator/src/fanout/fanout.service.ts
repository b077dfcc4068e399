/**
 * The Kafka fan-out of outcomes, when KAFKA_BROKERS is set: the forwarder follows the event store (never the
 * request path) and commits each batch with its checkpoint in one Kafka transaction. Broker outages degrade it;
 * commands are still accepted, and it catches up when the broker returns.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import type { EventStore } from '#event-store';
import { OutcomeForwarder, type ForwarderStatus } from '#fanout';
import type { AppConfig } from '../config/configuration.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER } from '../infrastructure/tokens.js';
import { KAFKA_CLIENT_ID } from '../kafka/kafka-commands.js';
import { pinoLogCreator } from '../kafka/kafka-support.js';
import { kafkaClientConfig } from '../kafka/kafka-client-config.js';
import { outcomeBatchTracing } from './outcome-tracing.js';

@Injectable()
export class FanoutService {
  private readonly forwarder: OutcomeForwarder | undefined;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LOGGER) logger: AppLogger,
  ) {
    if (!config.kafkaBrokers) return;
    this.forwarder = new OutcomeForwarder({
      store,
      kafka: kafkaClientConfig(config, `${KAFKA_CLIENT_ID}-forwarder`, { logCreator: pinoLogCreator(logger) }),
      logger: logger.child({ component: 'outcome-forwarder' }),
      topic: config.topics.outcomes,
      checkpointTopic: config.topics.checkpoints,
      // One identity per deployment: a restart fences its predecessor; another deployment never shares a checkpoint.
      name: config.forwarderId,
      transactionalId: config.forwarderId,
      // Several instances (two processes on one volume, replicas on a shared store): one forwards, the rest stand by.
      lease: {},
      traceBatch: outcomeBatchTracing(config.topics.outcomes),
    });
  }

  start(): void {
    this.forwarder?.start();
  }

  async stop(): Promise<void> {
    await this.forwarder?.stop();
  }

  status(): ForwarderStatus | undefined {
    return this.forwarder?.status();
  }

  /**
   * Readiness detail. A degraded fan-out is reported but does not fail the check: the store is the truth and
   * commands are still accepted; the outcomes follow when the broker is back.
   */
  check(): HealthIndicatorResult {
    const status = this.forwarder?.status();
    if (!status) return { fanout: { status: 'up', state: 'disabled', reason: 'KAFKA_BROKERS is not set' } };
    return { fanout: { status: 'up', ...status } };
  }
}
