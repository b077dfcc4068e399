/**
 * Configuration from the environment (DESIGN §7), validated once at start: a wrong value stops the service
 * with a message naming the variable. Reads only the object it is given (and, for ESDB_CONNECTION_STRING,
 * the certificate files the string names).
 */
import { checkConnectionString, InvalidConnectionStringError } from '#event-store';

export type AppConfig = {
  port: number;
  host: string;
  dataDir: string;
  eventStore: 'sqlite' | 'esdb';
  esdbConnectionString?: string;
  kafkaBrokers?: string[];
  topics: { outcomes: string; commands: string; commandResults: string; deadLetter: string; checkpoints: string };
  /** Transactional id and checkpoint key of the outcome forwarder: one per deployment on a cluster. */
  forwarderId: string;
  platformToken?: string;
  securityUserSigningKey?: string;
  securityUserTtlSeconds: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Unauthenticated refusals recorded per client address per minute before they are summarised. */
  anonymousRefusalsPerMinute: number;
  /** SSE heartbeat; an agent's credential is checked again at each one. */
  sseHeartbeatMs: number;
  /** Longest wait for a locked or slow store before a 503 (nothing written). */
  storeTimeoutMs: number;
};

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(readonly variable: string, message: string) {
    super(`Invalid configuration: ${variable} ${message}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

export function loadConfiguration(env: Record<string, string | undefined>): AppConfig {
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new ConfigurationError(name, `must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return Number(raw);
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = value(name) ?? fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigurationError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    return raw as T;
  };
  const topic = (name: string, fallback: string): string => {
    const raw = value(name) ?? fallback;
    if (!TOPIC.test(raw)) throw new ConfigurationError(name, `must be a Kafka topic name ([A-Za-z0-9._-], 1-249 chars), got ${JSON.stringify(raw)}`);
    return raw;
  };

  const outcomesTopic = topic('KAFKA_TOPIC_OUTCOMES', 'contact.outcomes');
  const eventStore = oneOf('EVENT_STORE', ['sqlite', 'esdb'] as const, 'sqlite');
  const esdbConnectionString = value('ESDB_CONNECTION_STRING');
  if (eventStore === 'esdb') {
    if (esdbConnectionString === undefined) throw new ConfigurationError('ESDB_CONNECTION_STRING', 'is required when EVENT_STORE=esdb');
    // Parsed by the client itself, so a string it would throw on at connect time stops the service here (exit 78).
    try {
      checkConnectionString(esdbConnectionString);
    } catch (error) {
      if (!(error instanceof InvalidConnectionStringError)) throw error;
      throw new ConfigurationError('ESDB_CONNECTION_STRING', `${error.message} (like esdb://host:2113?tls=false or kurrentdb://host:2113)`);
    }
  }

  const brokersRaw = value('KAFKA_BROKERS');
  const kafkaBrokers = brokersRaw?.split(',').map((b) => b.trim());
  if (kafkaBrokers?.some((b) => !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b))) {
    throw new ConfigurationError('KAFKA_BROKERS', `must be a comma-separated list of host:port, got ${JSON.stringify(brokersRaw)}`);
  }

  const platformToken = value('PLATFORM_TOKEN');
  if (platformToken !== undefined && platformToken.length < 16) {
    throw new ConfigurationError('PLATFORM_TOKEN', 'must be at least 16 characters');
  }
  const securityUserSigningKey = value('SECURITY_USER_SIGNING_KEY');
  if (securityUserSigningKey !== undefined && Buffer.byteLength(securityUserSigningKey) < 32) {
    throw new ConfigurationError('SECURITY_USER_SIGNING_KEY', 'must be at least 32 bytes (HS256)');
  }
  if (eventStore === 'esdb' && (platformToken === undefined || securityUserSigningKey === undefined)) {
    // Outside embedded mode secrets come from the operator, never from a generated file.
    throw new ConfigurationError(platformToken === undefined ? 'PLATFORM_TOKEN' : 'SECURITY_USER_SIGNING_KEY', 'is required when EVENT_STORE=esdb');
  }

  return {
    port: integer('PORT', 3000, 0, 65535),
    host: value('HOST') ?? '127.0.0.1',
    dataDir: value('DATA_DIR') ?? './data',
    eventStore,
    ...(esdbConnectionString !== undefined ? { esdbConnectionString } : {}),
    ...(kafkaBrokers !== undefined ? { kafkaBrokers } : {}),
    topics: {
      outcomes: outcomesTopic,
      commands: topic('KAFKA_TOPIC_COMMANDS', 'contact.commands'),
      commandResults: topic('KAFKA_TOPIC_COMMAND_RESULTS', 'contact.command-results'),
      deadLetter: topic('KAFKA_TOPIC_DEAD_LETTER', 'contact.commands.dlq'),
      checkpoints: topic('KAFKA_TOPIC_CHECKPOINTS', 'contact.outcomes.checkpoints'),
    },
    forwarderId: topic('KAFKA_FORWARDER_ID', `contact-orchestrator.${outcomesTopic}`),
    ...(platformToken !== undefined ? { platformToken } : {}),
    ...(securityUserSigningKey !== undefined ? { securityUserSigningKey } : {}),
    securityUserTtlSeconds: integer('SECURITY_USER_TTL_SECONDS', 3600, 10, 7 * 24 * 3600),
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    anonymousRefusalsPerMinute: integer('ANONYMOUS_REFUSALS_PER_MINUTE', 20, 1, 100_000),
    sseHeartbeatMs: integer('SSE_HEARTBEAT_MS', 10_000, 100, 60_000),
    storeTimeoutMs: integer('STORE_TIMEOUT_MS', 5_000, 100, 120_000),
  };
}
