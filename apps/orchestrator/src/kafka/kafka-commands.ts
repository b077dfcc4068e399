/**
 * EndContact over Kafka: the commands consumer, a Nest provider on plain kafkajs, as the outcome forwarder is
 * (libs/fanout). docs/decisions.md, Kafka, says why it is not Nest's Kafka transport.
 *
 * Its lifecycle is the application's (app.module.ts, Lifecycle): `start` once the application is bootstrapped (the
 * CommandBus has its handlers, the views run), before HTTP listens; `stop` at shutdown, after HTTP drained and
 * before the event store closes. Each record reaches CommandConsumer as kafkajs delivered it (Buffers for key,
 * value and headers): command-message.ts does the strict reading, and a dead-letter copy is the original bytes.
 *
 * Offsets: kafkajs commits a record's offset only after `eachMessage` resolved, that is after the command went
 * through the CommandBus (recorded in the store) and its answer was written. A Kafka failure that the producer could
 * not get past is thrown back to kafkajs, which retries the record, and restarts the consumer after a broker fault.
 */
import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import kafkajs from 'kafkajs';
import type { Consumer, EachMessagePayload, Producer } from 'kafkajs';
import type { EndContactCommand, EndContactResult } from '../contacts/end-contact.command.js';
import type { AppConfig } from '../config/configuration.js';
import { StartupError } from '../config/startup-error.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { APP_CONFIG, LOGGER } from '../infrastructure/tokens.js';
import { CommandConsumer, type Publish } from './command-consumer.js';
import type { IncomingRecord } from './command-message.js';
import { KafkaCommandsStatus, ensureTopics, pinoLogCreator } from './kafka-support.js';
import { explainKafkaFailure, kafkaClientConfig } from './kafka-client-config.js';

const { Kafka, Partitioners } = kafkajs;

export const KAFKA_CLIENT_ID = 'contact-orchestrator';

@Injectable()
export class KafkaCommandsService {
  private readonly log: AppLogger;
  private running: { consumer: Consumer; producer: Producer } | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: AppLogger,
    private readonly bus: CommandBus,
    private readonly status: KafkaCommandsStatus,
  ) {
    this.log = logger.child({ component: 'kafka-commands' });
  }

  /**
   * Creates the topics when allowed, then connects, subscribes and runs the consumer; nothing without KAFKA_BROKERS.
   * Like the event store, Kafka is required at start once configured: a failure rejects, saying what failed.
   */
  async start(): Promise<void> {
    const brokers = this.config.kafkaBrokers;
    if (!brokers || brokers.length === 0 || this.running) return;
    const explain = (error: unknown): string => explainKafkaFailure(error, this.config);
    const { commands, commandResults, deadLetter } = this.config.topics;
    const logCreator = pinoLogCreator(this.logger);
    await ensureTopics(
      new Kafka(kafkaClientConfig(this.config, `${KAFKA_CLIENT_ID}-admin`, { logCreator })),
      [commands, commandResults, deadLetter],
      this.log,
      explain,
    );

    this.status.set('starting');
    const handler = new CommandConsumer({
      topics: { commandResults, deadLetter },
      execute: (command: EndContactCommand) => this.bus.execute<EndContactCommand, EndContactResult>(command),
      logger: this.logger,
    });
    const groupId = `${KAFKA_CLIENT_ID}:${commands}`;
    const kafka = new Kafka(kafkaClientConfig(this.config, KAFKA_CLIENT_ID, { logCreator }));
    const consumer = kafka.consumer({ groupId });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    this.follow(consumer, commands);
    this.running = { consumer, producer };
    try {
      await consumer.connect();
      await producer.connect();
      // A new group starts at the beginning: a command sent before the first start is still answered (answers are
      // idempotent on commandId, so re-reading is harmless; skipping would lose answers).
      await consumer.subscribe({ topics: [commands], fromBeginning: true });
      const publish: Publish = async ({ topic, key, value, headers }) => {
        await producer.send({ topic, messages: [{ key, value, headers }] });
      };
      await consumer.run({
        autoCommit: true,
        // Rejects only when the answer could not be written (retriable Kafka failure): kafkajs then redelivers.
        eachMessage: (payload) => handler.handle(recordOf(payload), publish),
      });
    } catch (error) {
      this.status.set('crashed', error);
      await this.stop();
      throw new StartupError(`EndContact commands consumer could not start (topic ${commands}): ${explain(error)}`, {
        cause: error,
      });
    }
    const { tls, sasl } = this.config.kafkaSecurity;
    const security = { tls: tls !== undefined, ...(sasl ? { sasl: sasl.mechanism, username: sasl.username } : {}) };
    this.log.info(
      { brokers, groupId, topics: { commands, commandResults, deadLetter }, security },
      'EndContact commands consumer started',
    );
  }

  /**
   * Leaves the group once the record in hand is answered and its offset committed, then closes the producer. A
   * failure is logged, not thrown: what closes after this (the event store) still closes.
   */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    for (const client of [running.consumer, running.producer]) {
      try {
        await client.disconnect();
      } catch (error) {
        this.log.warn({ err: error }, 'EndContact commands consumer: a Kafka client did not disconnect cleanly');
      }
    }
  }

  /** The consumer's state for /health, and its log lines. */
  private follow(consumer: Consumer, topic: string): void {
    const { GROUP_JOIN, REBALANCING, CRASH, STOP } = consumer.events;
    consumer.on(GROUP_JOIN, (event) => {
      this.status.set('consuming');
      this.log.info(`EndContact commands consumer joined group ${event.payload.groupId}: consuming ${topic}`);
    });
    consumer.on(REBALANCING, () => this.status.set('rebalancing'));
    consumer.on(CRASH, (event) => {
      const { restart, error } = event.payload;
      this.status.set(restart ? 'restarting' : 'crashed', error);
      // A retriable broker answer (a fresh broker's coordinator still loading, a leader moving) is the broker's
      // weather, not a fault of this service: kafkajs restarts the consumer, and the line says so without alarm.
      if (restart && (error as { retriable?: boolean } | undefined)?.retriable === true) {
        this.log.warn(`EndContact commands consumer restarting after a retriable broker error: ${error?.message}`);
        return;
      }
      this.log.error(
        { err: error },
        `EndContact commands consumer crashed (${restart ? 'restarting' : 'not restarting'}): ${error?.message}`,
      );
    });
    consumer.on(STOP, () => this.status.set('stopped'));
  }
}

/** The record as kafkajs delivered it: Buffers for key, value and headers (only the header map is copied). */
function recordOf({ topic, partition, message }: EachMessagePayload): IncomingRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: { ...(message.headers ?? {}) },
  };
}
