/**
 * Small Kafka plumbing shared by the Kafka parts of the service: kafkajs logs as pino JSON lines, topic creation at
 * start, and the consumer's state for /health.
 */
import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import kafkajs from 'kafkajs';
import type { Kafka, LogEntry, logCreator } from 'kafkajs';
import { errorMessage } from '#runtime';
import { StartupError } from '../config/startup-error.js';
import type { AppLogger } from '../infrastructure/logger.js';

const { logLevel } = kafkajs;

/** kafkajs → pino, one child logger per namespace. kafkajs logs some retriable broker answers as ERROR. */
export function pinoLogCreator(logger: AppLogger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const target = logger.child({ component: 'kafkajs', namespace });
      if (level === logLevel.ERROR) target.error(extra, message);
      else if (level === logLevel.WARN) target.warn(extra, message);
      else if (level === logLevel.INFO) target.info(extra, message);
      else target.debug(extra, message);
    };
}

export type TopicCreation = Record<string, 'created' | 'exists' | 'not-allowed' | 'failed'>;

/**
 * Creates the topics that do not exist yet, with the broker's default partitions and replication. Already there is
 * fine; not allowed (ACLs) or any other refusal is logged and start goes on — the consumer then reports clearly if
 * a topic it needs is really missing. Brokers that cannot be reached at all are an error.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: string[],
  logger: AppLogger,
  explain: (error: unknown) => string = (error) => `Kafka is not reachable at KAFKA_BROKERS: ${errorMessage(error)}`,
): Promise<TopicCreation> {
  const outcome: TopicCreation = {};
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    // Not a permission question: the brokers cannot be reached (or refuse the TLS or SASL settings), and the
    // consumer would not start either. `explain` says which, in the terms of the configuration.
    await admin.disconnect().catch(() => undefined);
    throw new StartupError(explain(error), { cause: error });
  }
  try {
    for (const topic of topics) {
      try {
        const created = await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
        outcome[topic] = created ? 'created' : 'exists';
      } catch (error) {
        const types = errorTypes(error);
        if (types.length > 0 && types.every((t) => t === 'TOPIC_ALREADY_EXISTS')) outcome[topic] = 'exists';
        else if (types.some((t) => t.endsWith('AUTHORIZATION_FAILED'))) {
          outcome[topic] = 'not-allowed';
          logger.warn({ topic, errors: types }, 'not allowed to create Kafka topic: it must be created by an operator');
        } else {
          outcome[topic] = 'failed';
          logger.warn({ err: error, topic }, 'could not create Kafka topic');
        }
      }
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  logger.info({ topics: outcome }, 'Kafka topics checked');
  return outcome;
}

function errorTypes(error: unknown): string[] {
  const e = error as { type?: string; errors?: unknown[]; cause?: unknown };
  if (Array.isArray(e?.errors)) return e.errors.flatMap(errorTypes);
  if (typeof e?.type === 'string') return [e.type];
  return e?.cause ? errorTypes(e.cause) : [];
}

export type ConsumerState =
  'disabled' | 'starting' | 'consuming' | 'rebalancing' | 'restarting' | 'crashed' | 'stopped';

/**
 * The commands consumer's state, for /health. Down only when the consumer crashed for good (kafkajs will not
 * restart it): then restarting the process is what helps. Rebalancing or restarting after a broker hiccup is up.
 */
@Injectable()
export class KafkaCommandsStatus {
  state: ConsumerState = 'disabled';
  lastError?: string;
  since = new Date();

  set(state: ConsumerState, error?: unknown): void {
    this.state = state;
    this.since = new Date();
    if (error !== undefined) this.lastError = errorMessage(error);
  }

  /** A @nestjs/terminus indicator: `{kafkaCommands: {status, state, since, lastError?}}`; throws 503 when crashed for good. */
  check(): HealthIndicatorResult {
    const details = {
      status: this.state === 'crashed' ? ('down' as const) : ('up' as const),
      state: this.state,
      since: this.since.toISOString(),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
    if (this.state === 'crashed') throw new ServiceUnavailableException({ kafkaCommands: details });
    return { kafkaCommands: details };
  }
}
