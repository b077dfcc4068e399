/**
 * Wires EndContact over Kafka into the Nest application as a microservice on Nest's Kafka transport
 * (`app.connectMicroservice` + `app.startAllMicroservices()`).
 *
 * Why a ServerKafka subclass rather than a controller with `@EventPattern('contact.commands')`:
 * - the topic is configuration (KAFKA_TOPIC_COMMANDS), known only at start, while a decorator argument is fixed
 *   when the class is defined; here the handler is registered for the configured topic with `addHandler`;
 * - Nest's KafkaParser decodes key, value and headers (JSON.parse when they start with `{`, strings otherwise),
 *   silently: the handler could not tell broken JSON from a string, and the dead-letter copy could not be the
 *   original bytes. This server keeps the record as kafkajs delivered it (Buffers), and command-message.ts
 *   does the strict reading.
 * Everything else is Nest's: the kafkajs client, consumer group, subscription, producer, and closing them in
 * `app.close()` (after HTTP drained, before the event store closes).
 */
import type { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { KafkaParser, ServerKafka, type KafkaContext, type KafkaOptions } from '@nestjs/microservices';
import kafkajs from 'kafkajs';
import type { EndContactCommand, EndContactResult } from '../contacts/end-contact.command.js';
import type { AppConfig } from '../config/configuration.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { CommandConsumer, type Publish } from './command-consumer.js';
import type { IncomingRecord, RecordHeaders } from './command-message.js';
import { KafkaCommandsStatus, ensureTopics, pinoLogCreator } from './kafka-support.js';
import { explainKafkaFailure, kafkaClientConfig } from './kafka-client-config.js';

const { Kafka, Partitioners } = kafkajs;

export const KAFKA_CLIENT_ID = 'contact-orchestrator';

type ServerOptions = Required<KafkaOptions>['options'];

/** Hands the record over untouched: Buffers for key, value and headers (only the header map is copied). */
class RawKafkaParser extends KafkaParser {
  override parse<T = unknown>(data: { headers?: RecordHeaders }): T {
    return { ...data, headers: { ...(data.headers ?? {}) } } as T;
  }
}

/** Nest's Kafka server, subscribed to the configured commands topic only, feeding raw records to a CommandConsumer. */
export class KafkaCommandsServer extends ServerKafka {
  constructor(
    options: ServerOptions,
    readonly commandsTopic: string,
    private readonly commands: CommandConsumer,
    readonly consumerStatus: KafkaCommandsStatus,
    private readonly explain: (error: unknown) => string,
  ) {
    super(options);
    this.parser = new RawKafkaParser();
    this.addHandler(commandsTopic, (_data: unknown, context: KafkaContext) => this.onRecord(context), true);
  }

  /** Like the event store, Kafka is required at start once configured: a failure stops the start, saying what failed. */
  override async listen(callback: (err?: unknown, ...optionalParams: unknown[]) => void): Promise<void> {
    await super.listen((err?: unknown, ...rest: unknown[]) => {
      if (err === undefined || err === null) return callback(err, ...rest);
      this.consumerStatus.set('crashed', err);
      const message = `EndContact commands consumer could not start (topic ${this.commandsTopic}): ${this.explain(err)}`;
      return callback(new Error(message, { cause: err }), ...rest);
    });
  }

  private async onRecord(context: KafkaContext): Promise<void> {
    const message = context.getMessage() as unknown as {
      offset: string;
      key: Buffer | null;
      value: Buffer | null;
      headers?: RecordHeaders;
    };
    const record: IncomingRecord = {
      topic: context.getTopic(),
      partition: context.getPartition(),
      offset: message.offset,
      key: message.key ?? null,
      value: message.value ?? null,
      headers: message.headers ?? {},
    };
    const producer = context.getProducer();
    const publish: Publish = async ({ topic, key, value, headers }) => {
      await producer.send({ topic, messages: [{ key, value, headers }] });
    };
    // Throws only when the answer could not be written (retriable Kafka failure): kafkajs then redelivers.
    await this.commands.handle(record, publish);
  }

  protected override registerConsumerEventListeners(): void {
    super.registerConsumerEventListeners();
    const consumer = this.consumer;
    if (!consumer) return;
    const status = this.consumerStatus;
    const { GROUP_JOIN, REBALANCING, CRASH, STOP } = consumer.events;
    consumer.on(GROUP_JOIN, (event) => {
      status.set('consuming');
      this.logger.log(
        `EndContact commands consumer joined group ${event.payload.groupId}: consuming ${this.commandsTopic}`,
      );
    });
    consumer.on(REBALANCING, () => status.set('rebalancing'));
    consumer.on(CRASH, (event) => {
      const { restart, error } = event.payload;
      status.set(restart ? 'restarting' : 'crashed', error);
      // A retriable broker answer (a fresh broker's coordinator still loading, a leader moving) is the broker's
      // weather, not a fault of this service: kafkajs restarts the consumer, and the line says so without alarm.
      if (restart && (error as { retriable?: boolean } | undefined)?.retriable === true) {
        this.logger.warn(`EndContact commands consumer restarting after a retriable broker error: ${error?.message}`);
        return;
      }
      this.logger.error(
        `EndContact commands consumer crashed (${restart ? 'restarting' : 'not restarting'}): ${error?.message}`,
      );
    });
    consumer.on(STOP, () => status.set('stopped'));
  }
}

export type KafkaCommandsOptions = {
  /** Consumer group; default `contact-orchestrator:<commands topic>` (a renamed topic is read by a new group from its start). */
  groupId?: string;
  /** Create the three topics at start when missing (default true); refusals by the broker are logged, not fatal. */
  createTopics?: boolean;
  /** For tests: what runs a command (default: the application's CommandBus). */
  execute?: (command: EndContactCommand) => Promise<EndContactResult>;
};

/**
 * Connects the commands consumer to `app` (call before `app.startAllMicroservices()`, which starts it). Creates the
 * topics first when allowed. Requires `config.kafkaBrokers`.
 */
export async function connectKafkaCommands(
  app: INestApplication,
  config: AppConfig,
  logger: AppLogger,
  options: KafkaCommandsOptions = {},
): Promise<KafkaCommandsServer> {
  const brokers = config.kafkaBrokers;
  if (!brokers || brokers.length === 0)
    throw new Error('connectKafkaCommands needs config.kafkaBrokers (KAFKA_BROKERS)');
  const explain = (error: unknown): string => explainKafkaFailure(error, config);
  const { commands, commandResults, deadLetter } = config.topics;
  const log = logger.child({ component: 'kafka-commands' });
  const logCreator = pinoLogCreator(logger);
  if (options.createTopics !== false) {
    await ensureTopics(
      new Kafka(kafkaClientConfig(config, `${KAFKA_CLIENT_ID}-admin`, { logCreator })),
      [commands, commandResults, deadLetter],
      log,
      explain,
    );
  } else log.info('Kafka topic creation disabled: the topics must exist');

  const status = statusOf(app);
  status.set('starting');
  const execute =
    options.execute ??
    (
      (bus: CommandBus) => (command: EndContactCommand) =>
        bus.execute(command)
    )(app.get(CommandBus));
  const consumer = new CommandConsumer({ topics: { commandResults, deadLetter }, execute, logger });
  const groupId = options.groupId ?? `${KAFKA_CLIENT_ID}:${commands}`;
  const serverOptions = {
    postfixId: '',
    client: kafkaClientConfig(config, KAFKA_CLIENT_ID, { logCreator }),
    consumer: { groupId },
    // A new group starts at the beginning: a command sent before the first start is still answered (answers are
    // idempotent on commandId, so re-reading is harmless; skipping would lose answers).
    subscribe: { fromBeginning: true },
    run: { autoCommit: true },
    producer: { createPartitioner: Partitioners.DefaultPartitioner },
  } as unknown as ServerOptions;
  const server = new KafkaCommandsServer(serverOptions, commands, consumer, status, explain);
  app.connectMicroservice({ strategy: server });
  const { tls, sasl } = config.kafkaSecurity;
  const security = { tls: tls !== undefined, ...(sasl ? { sasl: sasl.mechanism, username: sasl.username } : {}) };
  log.info(
    { brokers, groupId, topics: { commands, commandResults, deadLetter }, security },
    'EndContact commands consumer connected to the app',
  );
  return server;
}

function statusOf(app: INestApplication): KafkaCommandsStatus {
  try {
    return app.get(KafkaCommandsStatus, { strict: false });
  } catch {
    // Not registered as a provider (health does not report it): keep a private one.
    return new KafkaCommandsStatus();
  }
}
