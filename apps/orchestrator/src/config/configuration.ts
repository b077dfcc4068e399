/**
 * Configuration from the environment (docs/design.md, Configuration): one TypeBox schema of the variables, compiled by
 * ajv as the requests' schemas are, checked once at start, then the checks no schema can say (secrets' strength, the
 * connection string, rules between variables); a wrong value stops the service (exit 78) with a message naming the
 * variable. Nest reads the result through @nestjs/config (see config.module.ts). Reads only the object it is given, and the files the Kafka security variables name (the
 * CA, client certificate and key, SASL password: kafka-security.ts); a file that cannot be used is a wrong value too.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { Ajv, type ErrorObject } from 'ajv';
import Type, { type Static } from 'typebox';
import {
  checkConnectionString,
  checkPostgresUrl,
  InvalidConnectionStringError,
  InvalidPostgresUrlError,
  postgresConnectionString,
} from '#event-store';
import {
  DEFAULT_IDENTITY_PROVIDER_ALGORITHMS,
  IDENTITY_PROVIDER_ALGORITHMS,
  KID_PATTERN,
  type IdentityProviderAlgorithm,
  type IdentityProviderPolicy,
} from '#security';
import { platformTokenProblem, signingKeyProblem } from './secret-strength.js';
import {
  KAFKA_SASL_MECHANISMS,
  KafkaSecurityProblem,
  readKafkaSecurity,
  type KafkaSecurity,
} from './kafka-security.js';

/** One key of the SecurityUser signing ring; the first of the list signs. */
export type SigningKeyEntry = { kid: string; secret: string };
/** The kid of the key given alone in SECURITY_USER_SIGNING_KEY (or generated in embedded mode). */
export const SINGLE_KEY_KID = 'default';

/**
 * SecurityUsers from the company's identity provider (SECURITY_USER_JWKS_URL and the variables beside it): what
 * they must say, and how its published keys are fetched and kept (docs/operations.md, "Pointing the service at an
 * identity provider").
 */
export type IdentityProviderConfig = IdentityProviderPolicy & {
  jwksUrl: string;
  /** One request for the key set waits this long at most. */
  timeoutMs: number;
  /** After a fetch, successful or not, no other is made for this long (an unknown `kid` included). */
  cooldownMs: number;
  /** A key set older than this is fetched again before it is used (the last good one serves while that fails). */
  cacheMaxAgeMs: number;
};

export type AppConfig = {
  port: number;
  host: string;
  dataDir: string;
  eventStore: 'sqlite' | 'esdb' | 'postgres';
  esdbConnectionString?: string;
  /**
   * EVENT_STORE=postgres: POSTGRES_URL with the password of POSTGRES_PASSWORD_FILE when one is given (the file
   * already read). Never logged whole: maskPostgresUrl shows its password as ***.
   */
  postgresConnectionString?: string;
  kafkaBrokers?: string[];
  /** TLS and SASL of every Kafka client (KAFKA_SSL*, KAFKA_SASL*), the files already read; `{}`: plaintext, anonymous. */
  kafkaSecurity: KafkaSecurity;
  topics: { outcomes: string; commands: string; commandResults: string; deadLetter: string; checkpoints: string };
  /** Transactional id and checkpoint key of the outcome forwarder: one per deployment on a cluster. */
  forwarderId: string;
  platformToken?: string;
  /**
   * The scrapers' token (METRICS_TOKEN): when set, GET /metrics needs it or the platform token; either one also gets
   * /health's details. Unset: /metrics is open (docs/security.md).
   */
  metricsToken?: string;
  /** Seconds of event-loop delay the nodejs_eventloop_lag_* gauges cover: a rolling window no scrape resets. */
  metricsLoopWindowSeconds: number;
  /** Newest first: SECURITY_USER_SIGNING_KEYS, or SECURITY_USER_SIGNING_KEY as a ring of one (kid `default`). */
  securityUserSigningKeys?: SigningKeyEntry[];
  securityUserTtlSeconds: number;
  /** Unset: only the service's own key ring verifies SecurityUsers. */
  identityProvider?: IdentityProviderConfig;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Unauthenticated refusals recorded per client address per minute before they are summarised. */
  anonymousRefusalsPerMinute: number;
  /** Refusals of one authenticated agent recorded per minute before they are summarised. */
  agentRefusalsPerMinute: number;
  /** SSE heartbeat; an agent's credential is checked again at each one. */
  sseHeartbeatMs: number;
  /** Longest wait for a locked or slow store before a 503 (nothing written). */
  storeTimeoutMs: number;
  /** Bytes of keyed bulk-end answers kept for retries (their JSON); past it the oldest is forgotten. */
  endBatchRememberedBytes: number;
  /** What one client can hold or ask of the HTTP server (docs/security.md). */
  http: HttpLimits;
};

export type HttpLimits = {
  /** The whole request (headers and body) must arrive within this, or the socket gets 408 and is closed. */
  requestTimeoutMs: number;
  /** A kept-alive socket with no request in progress is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic either way is closed after this (event streams send heartbeats more often). */
  idleTimeoutMs: number;
  /** Sockets open at once; the next ones are refused by the server. */
  maxConnections: number;
  /** Sockets open at once per client address (IPv6 by /64); proxies TRUST_PROXY names are exempt. */
  maxConnectionsPerAddress: number;
  /** Requests one kept-alive socket may carry (0: no limit). */
  maxRequestsPerSocket: number;
  /** Body limit of every route but the two below (the end command, the directory, contact registration). */
  bodyLimitBytes: number;
  /** Body limit of the Studio action and the bulk end. */
  largeBodyLimitBytes: number;
  /** Arrays and objects nested deeper than this in a JSON body get a 400 before the body is parsed. */
  maxJsonDepth: number;
  /** Requests per minute per credential (platform token, agent) and per client address; 0 turns limiting off. */
  rateLimitPerMinute: number;
  /** Proxies (addresses, CIDR blocks) whose X-Forwarded-For gives the client's address; empty: none is believed. */
  trustProxy: string[];
  /** Event streams open at once per credential. */
  streamsPerCredential: number;
  /** Audit exports running at once per credential, and in all (429 with Retry-After past either). */
  exportsPerCredential: number;
  exportsAtOnce: number;
};

/** Seconds of event-loop delay the nodejs_eventloop_lag_* gauges cover unless METRICS_LOOP_WINDOW_SECONDS says. */
export const METRICS_LOOP_WINDOW_DEFAULT_SECONDS = 60;

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Each variable's schema says in its `description` what the variable must be: a refusal reads
// `must be {description}, got "{value}"`.
const text = Type.String();
const integer = (fallback: number, min: number, max: number) =>
  Type.Integer({ minimum: min, maximum: max, default: fallback, description: `an integer from ${min} to ${max}` });
const oneOf = <T extends string>(allowed: readonly T[], fallback?: T) =>
  Type.Unsafe<T>({
    type: 'string',
    enum: [...allowed],
    ...(fallback !== undefined ? { default: fallback } : {}),
    description: `one of ${allowed.join(', ')}`,
  });
const topic = (fallback?: string) =>
  Type.String({
    pattern: '^[A-Za-z0-9._-]{1,249}$',
    ...(fallback !== undefined ? { default: fallback } : {}),
    description: 'a Kafka topic name ([A-Za-z0-9._-], 1-249 chars)',
  });
const HOST_PORT = '[A-Za-z0-9.-]+:\\d{1,5}';
const brokers = Type.String({
  pattern: `^${HOST_PORT}(?:\\s*,\\s*${HOST_PORT})*$`,
  description: 'a comma-separated list of host:port',
});
/** A path; its file is read after the schema passed (readKafkaSecurity), so that a bad one is named with its path. */
const path = text;

/** The environment the service reads, one entry per variable (docs/design.md, Configuration; docs/operations.md lists them). */
export const environmentSchema = Type.Object({
  PORT: integer(3000, 0, 65535),
  HOST: Type.Optional(text),
  DATA_DIR: Type.Optional(text),
  EVENT_STORE: oneOf(['sqlite', 'esdb', 'postgres'] as const, 'sqlite'),
  ESDB_CONNECTION_STRING: Type.Optional(text),
  POSTGRES_URL: Type.Optional(text),
  POSTGRES_PASSWORD_FILE: Type.Optional(path),
  KAFKA_BROKERS: Type.Optional(brokers),
  KAFKA_TOPIC_OUTCOMES: topic('contact.outcomes'),
  KAFKA_TOPIC_COMMANDS: topic('contact.commands'),
  KAFKA_TOPIC_COMMAND_RESULTS: topic('contact.command-results'),
  KAFKA_TOPIC_DEAD_LETTER: topic('contact.commands.dlq'),
  KAFKA_TOPIC_CHECKPOINTS: topic('contact.outcomes.checkpoints'),
  KAFKA_FORWARDER_ID: Type.Optional(topic()),
  KAFKA_SSL: oneOf(['true', 'false'] as const, 'false'),
  KAFKA_SSL_CA_FILE: Type.Optional(path),
  KAFKA_SSL_CERT_FILE: Type.Optional(path),
  KAFKA_SSL_KEY_FILE: Type.Optional(path),
  /** Read in any case (normalise lower-cases it). */
  KAFKA_SASL_MECHANISM: Type.Optional(oneOf(KAFKA_SASL_MECHANISMS)),
  KAFKA_SASL_USERNAME: Type.Optional(text),
  KAFKA_SASL_PASSWORD_FILE: Type.Optional(path),
  /** Refused when set (see VALUE_CHECKS). */
  KAFKA_SASL_PASSWORD: Type.Optional(text),
  PLATFORM_TOKEN: Type.Optional(text),
  METRICS_TOKEN: Type.Optional(text),
  METRICS_LOOP_WINDOW_SECONDS: integer(METRICS_LOOP_WINDOW_DEFAULT_SECONDS, 1, 600),
  SECURITY_USER_SIGNING_KEY: Type.Optional(text),
  SECURITY_USER_SIGNING_KEYS: Type.Optional(text),
  SECURITY_USER_TTL_SECONDS: integer(3600, 10, 7 * 24 * 3600),
  /** The identity provider's variables: checked in VALUE_CHECKS and identityProviderRules. */
  SECURITY_USER_JWKS_URL: Type.Optional(text),
  SECURITY_USER_ISSUER: Type.Optional(text),
  SECURITY_USER_AUDIENCE: Type.Optional(text),
  SECURITY_USER_AGENT_CLAIM: Type.Optional(
    Type.String({ pattern: '^\\S{1,256}$', description: 'a claim name (1-256 characters, no spaces)' }),
  ),
  SECURITY_USER_ALGORITHMS: Type.Optional(text),
  SECURITY_USER_JWKS_TIMEOUT_MS: integer(5_000, 100, 60_000),
  SECURITY_USER_JWKS_COOLDOWN_MS: integer(30_000, 1_000, 3_600_000),
  SECURITY_USER_JWKS_MAX_AGE_SECONDS: integer(600, 1, 7 * 24 * 3600),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  ANONYMOUS_REFUSALS_PER_MINUTE: integer(20, 1, 100_000),
  AGENT_REFUSALS_PER_MINUTE: integer(60, 1, 100_000),
  SSE_HEARTBEAT_MS: integer(10_000, 100, 60_000),
  STORE_TIMEOUT_MS: integer(5_000, 100, 120_000),
  END_BATCH_REMEMBERED_BYTES: integer(32 * 1024 * 1024, 0, 1024 * 1024 * 1024),
  HTTP_REQUEST_TIMEOUT_MS: integer(10_000, 100, 600_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(5_000, 100, 600_000),
  HTTP_IDLE_TIMEOUT_MS: integer(60_000, 1_000, 3_600_000),
  HTTP_MAX_CONNECTIONS: integer(1_000, 1, 1_000_000),
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: integer(256, 1, 1_000_000),
  HTTP_MAX_REQUESTS_PER_SOCKET: integer(10_000, 0, 100_000_000),
  HTTP_BODY_LIMIT_BYTES: integer(16_384, 1_024, 16 * 1024 * 1024),
  HTTP_LARGE_BODY_LIMIT_BYTES: integer(65_536, 1_024, 16 * 1024 * 1024),
  HTTP_MAX_JSON_DEPTH: integer(8, 2, 256),
  RATE_LIMIT_PER_MINUTE: integer(6_000, 0, 100_000_000),
  /** Split by proxiesOf and checked in VALUE_CHECKS. */
  TRUST_PROXY: Type.Optional(text),
  SSE_STREAMS_PER_CREDENTIAL: integer(4, 1, 10_000),
  AUDIT_EXPORTS_PER_CREDENTIAL: integer(2, 1, 1_000),
  AUDIT_EXPORTS_AT_ONCE: integer(16, 1, 10_000),
});

type Environment = Static<typeof environmentSchema>;
type Variable = keyof Environment;
const VARIABLES = Object.keys(environmentSchema.properties) as Variable[];

// Compiled once; the defaults of the schema fill the variables left unset. No coercion: normalise gives ajv numbers.
const checkEnvironment = new Ajv({ allErrors: false, useDefaults: true, strict: true }).compile<Environment>(
  environmentSchema,
);

/**
 * The variables the schema knows, as ajv is to check them: trimmed, an empty or blank one left out (unset), the SASL
 * mechanism lower-cased, and an integer variable of digits only a number (anything else stays a string, which the
 * schema refuses: no `0x10`, `1e3` or `+5` taken for a number).
 */
function normalise(env: Record<string, string | undefined>): {
  values: Record<string, unknown>;
  raw: Record<string, string>;
} {
  const values: Record<string, unknown> = {};
  const raw: Record<string, string> = {};
  for (const name of VARIABLES) {
    const value = env[name]?.trim();
    if (value === undefined || value === '') continue;
    raw[name] = value;
    const schema = environmentSchema.properties[name] as { type?: string };
    values[name] =
      schema.type === 'integer' && /^\d+$/.test(value)
        ? Number(value)
        : name === 'KAFKA_SASL_MECHANISM'
          ? value.toLowerCase()
          : value;
  }
  return { values, raw };
}

/** The first variable ajv refused, and what it must be (its schema's description), with the value given. */
function schemaProblem(errors: ErrorObject[], raw: Record<string, string>): ConfigurationError {
  // Every property of the schema that can fail has a description; the root (an object of strings) cannot fail.
  const variable = (errors[0]?.instancePath.split('/')[1] ?? '') as Variable;
  const description = (environmentSchema.properties[variable] as { description?: string } | undefined)?.description;
  return new ConfigurationError(variable, `must be ${description ?? 'valid'}, got ${JSON.stringify(raw[variable])}`);
}

/** Addresses or CIDR blocks (`10.0.0.0/8`, `fd00::/8`) of the proxies whose X-Forwarded-For is believed. */
const PROXY = /^(?:[0-9.]+|[0-9a-fA-F:.]+)(?:\/\d{1,3})?$/;
const proxiesOf = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);

/** `kid:secret,kid:secret`, newest first; a secret holds no comma, the kid ends at the first colon. */
function signingKeysOf(raw: string): SigningKeyEntry[] | { problem: string } {
  const entries: SigningKeyEntry[] = [];
  for (const [i, item] of raw.split(',').entries()) {
    const colon = item.indexOf(':');
    const kid = item.slice(0, Math.max(colon, 0)).trim();
    const secret = item.slice(colon + 1).trim();
    if (colon < 0 || !KID_PATTERN.test(kid))
      return {
        problem: `entry ${i + 1} must be kid:secret with a kid of 1-64 [A-Za-z0-9._-] (newest first, comma-separated)`,
      };
    if (entries.some((e) => e.kid === kid)) return { problem: `names kid ${kid} twice` };
    // The secret itself is never echoed: only the kid names the entry.
    const problem = signingKeyProblem(secret);
    if (problem) return { problem: `key ${kid} ${problem}` };
    entries.push({ kid, secret });
  }
  return entries;
}

/**
 * What JSON Schema cannot say about one variable's value, checked once the schema passed, in the schema's order:
 * the problem, or undefined. A secret is never echoed in a problem.
 */
const VALUE_CHECKS: Partial<Record<Variable, (value: string) => string | undefined>> = {
  ESDB_CONNECTION_STRING: (value) => {
    // Parsed by the client itself, so a string it would throw on at connect time stops the service here (exit 78).
    try {
      checkConnectionString(value);
      return undefined;
    } catch (error) {
      if (!(error instanceof InvalidConnectionStringError)) throw error;
      return `${error.message} (like esdb://host:2113?tls=false or kurrentdb://host:2113)`;
    }
  },
  POSTGRES_URL: (value) => {
    try {
      checkPostgresUrl(value);
      return undefined;
    } catch (error) {
      if (!(error instanceof InvalidPostgresUrlError)) throw error;
      return `${error.message} (like postgresql://user@host:5432/database)`;
    }
  },
  // Never read: a password in the environment is visible to every process of the user, and in `ps e`.
  KAFKA_SASL_PASSWORD: () =>
    'is not read: put the password in a file only the service can read, and name that file in KAFKA_SASL_PASSWORD_FILE',
  // METRICS_TOKEN is a bearer token of the same strength as the platform token.
  PLATFORM_TOKEN: platformTokenProblem,
  METRICS_TOKEN: platformTokenProblem,
  SECURITY_USER_SIGNING_KEY: signingKeyProblem,
  SECURITY_USER_SIGNING_KEYS: (value) => {
    const keys = signingKeysOf(value);
    return 'problem' in keys ? keys.problem : undefined;
  },
  SECURITY_USER_JWKS_URL: jwksUrlProblem,
  SECURITY_USER_ALGORITHMS: (value) => {
    const algorithms = algorithmsOf(value);
    return 'problem' in algorithms ? algorithms.problem : undefined;
  },
  TRUST_PROXY: (value) =>
    proxiesOf(value).every((p) => PROXY.test(p) && isIP(p.split('/')[0]!) !== 0)
      ? undefined
      : 'must be a comma-separated list of IP addresses or CIDR blocks (e.g. 10.0.0.0/8,127.0.0.1)',
};

/** How variables go together; `problem` names the variable to blame. */
function crossRules(env: Environment, problem: (variable: string, message: string) => void): void {
  if (env.SSE_HEARTBEAT_MS >= env.HTTP_IDLE_TIMEOUT_MS)
    problem(
      'HTTP_IDLE_TIMEOUT_MS',
      `must be longer than SSE_HEARTBEAT_MS (${env.SSE_HEARTBEAT_MS}), or idle event streams are cut`,
    );
  if (env.SECURITY_USER_SIGNING_KEY !== undefined && env.SECURITY_USER_SIGNING_KEYS !== undefined)
    problem(
      'SECURITY_USER_SIGNING_KEYS',
      `cannot be set with SECURITY_USER_SIGNING_KEY: set one (the single key is kid "${SINGLE_KEY_KID}" in a ring)`,
    );
  kafkaSecurityRules(env, problem);
  identityProviderRules(env, problem);
  if (env.EVENT_STORE === 'sqlite') return;
  const where = { esdb: 'ESDB_CONNECTION_STRING', postgres: 'POSTGRES_URL' } as const;
  const store = env.EVENT_STORE;
  if (env[where[store]] === undefined) problem(where[store], `is required when EVENT_STORE=${store}`);
  // Outside embedded mode secrets come from the operator, never from a generated file.
  else if (env.PLATFORM_TOKEN === undefined) problem('PLATFORM_TOKEN', `is required when EVENT_STORE=${store}`);
  else if (env.SECURITY_USER_SIGNING_KEY === undefined && env.SECURITY_USER_SIGNING_KEYS === undefined)
    problem('SECURITY_USER_SIGNING_KEYS', `(or SECURITY_USER_SIGNING_KEY) is required when EVENT_STORE=${store}`);
}

/** POSTGRES_URL with POSTGRES_PASSWORD_FILE's password; a file that cannot be read is a wrong value of that variable. */
function postgresOf(e: Environment): { postgresConnectionString?: string } {
  if (e.EVENT_STORE !== 'postgres' || e.POSTGRES_URL === undefined) return {};
  try {
    return { postgresConnectionString: postgresConnectionString(e.POSTGRES_URL, e.POSTGRES_PASSWORD_FILE) };
  } catch (error) {
    if (error instanceof InvalidPostgresUrlError) throw new ConfigurationError('POSTGRES_PASSWORD_FILE', error.message);
    throw error;
  }
}

/** The key set's address: https, or http to a loopback address (a test's, a sidecar's); never with a password in it. */
function jwksUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute URL of the identity provider's key set (like https://login.example.com/keys)";
  }
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return undefined;
  return 'must be an https:// URL (http:// only to a loopback address: keys fetched in clear could be replaced on the way)';
}

/** `RS256,ES256,…`: asymmetric algorithms only, each named once at least. */
function algorithmsOf(value: string): IdentityProviderAlgorithm[] | { problem: string } {
  const names = value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  for (const name of names) {
    if (name.toLowerCase() === 'none') return { problem: 'must not allow none: an unsigned token proves nothing' };
    if (/^HS\d+$/i.test(name))
      return {
        problem: `must not allow ${name}: an HMAC checked with the identity provider's public key proves nothing (the service's own HS256 tokens go to its key ring, SECURITY_USER_SIGNING_KEYS)`,
      };
    if (!(IDENTITY_PROVIDER_ALGORITHMS as readonly string[]).includes(name))
      return {
        problem: `must be a comma-separated list of ${IDENTITY_PROVIDER_ALGORITHMS.join(', ')}, got ${JSON.stringify(name)}`,
      };
  }
  if (names.length === 0) return { problem: `must name at least one of ${IDENTITY_PROVIDER_ALGORITHMS.join(', ')}` };
  return [...new Set(names)] as IdentityProviderAlgorithm[];
}

/** The identity provider's variables go together: issuer and audience with the URL, none of them without it. */
function identityProviderRules(env: Environment, problem: (variable: string, message: string) => void): void {
  if (env.SECURITY_USER_JWKS_URL === undefined) {
    const given = (
      [
        'SECURITY_USER_ISSUER',
        'SECURITY_USER_AUDIENCE',
        'SECURITY_USER_AGENT_CLAIM',
        'SECURITY_USER_ALGORITHMS',
      ] as const
    ).find((name) => env[name] !== undefined);
    if (given)
      problem(
        given,
        "is set but SECURITY_USER_JWKS_URL is not: set the identity provider's key set URL, or leave this unset",
      );
    return;
  }
  if (env.SECURITY_USER_ISSUER === undefined)
    problem('SECURITY_USER_ISSUER', 'is required when SECURITY_USER_JWKS_URL is set: the `iss` its tokens carry');
  if (env.SECURITY_USER_AUDIENCE === undefined)
    problem(
      'SECURITY_USER_AUDIENCE',
      'is required when SECURITY_USER_JWKS_URL is set: the `aud` its tokens carry for this service',
    );
}

function identityProviderOf(e: Environment): IdentityProviderConfig | undefined {
  if (e.SECURITY_USER_JWKS_URL === undefined) return undefined;
  return {
    jwksUrl: e.SECURITY_USER_JWKS_URL,
    issuer: e.SECURITY_USER_ISSUER!,
    audience: e.SECURITY_USER_AUDIENCE!,
    agentClaim: e.SECURITY_USER_AGENT_CLAIM ?? 'sub',
    algorithms:
      e.SECURITY_USER_ALGORITHMS !== undefined
        ? (algorithmsOf(e.SECURITY_USER_ALGORITHMS) as IdentityProviderAlgorithm[])
        : [...DEFAULT_IDENTITY_PROVIDER_ALGORITHMS],
    timeoutMs: e.SECURITY_USER_JWKS_TIMEOUT_MS,
    cooldownMs: e.SECURITY_USER_JWKS_COOLDOWN_MS,
    cacheMaxAgeMs: e.SECURITY_USER_JWKS_MAX_AGE_SECONDS * 1000,
  };
}

/** The environment checked: the schema, then each value's own check, then the rules between variables; the first problem throws. */
function environmentOf(env: Record<string, string | undefined>): Environment {
  const { values, raw } = normalise(env);
  if (!checkEnvironment(values)) throw schemaProblem(checkEnvironment.errors ?? [], raw);
  for (const name of VARIABLES) {
    const value = values[name];
    const problem = typeof value === 'string' ? VALUE_CHECKS[name]?.(value) : undefined;
    if (problem) throw new ConfigurationError(name, problem);
  }
  crossRules(values, (variable, message) => {
    throw new ConfigurationError(variable, message);
  });
  return values;
}

/** How the Kafka security variables go together; `problem` names the variable to blame. */
function kafkaSecurityRules(env: Environment, problem: (variable: string, message: string) => void): void {
  if (env.KAFKA_SSL !== 'true') {
    // A CA or certificate given while TLS is off would be ignored: the connection would be plaintext unknowingly.
    const given = (['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const).find(
      (name) => env[name] !== undefined,
    );
    if (given) problem(given, 'is set but KAFKA_SSL is not true: set KAFKA_SSL=true to connect to Kafka with TLS');
  } else if ((env.KAFKA_SSL_CERT_FILE === undefined) !== (env.KAFKA_SSL_KEY_FILE === undefined)) {
    const [missing, given] =
      env.KAFKA_SSL_CERT_FILE === undefined
        ? ['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']
        : ['KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_CERT_FILE'];
    problem(missing, `is required when ${given} is set: a client certificate needs both, or neither`);
  }
  if (env.KAFKA_SASL_MECHANISM === undefined) {
    const given = (['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD_FILE'] as const).find(
      (name) => env[name] !== undefined,
    );
    if (given)
      problem('KAFKA_SASL_MECHANISM', `is required when ${given} is set: one of ${KAFKA_SASL_MECHANISMS.join(', ')}`);
    return;
  }
  if (env.KAFKA_SASL_MECHANISM === 'plain' && env.KAFKA_SSL !== 'true') {
    problem(
      'KAFKA_SASL_MECHANISM',
      'plain sends the password as it is: it needs KAFKA_SSL=true (or use scram-sha-256 / scram-sha-512)',
    );
  }
  if (env.KAFKA_SASL_USERNAME === undefined)
    problem('KAFKA_SASL_USERNAME', 'is required when KAFKA_SASL_MECHANISM is set');
  if (env.KAFKA_SASL_PASSWORD_FILE === undefined)
    problem(
      'KAFKA_SASL_PASSWORD_FILE',
      'is required when KAFKA_SASL_MECHANISM is set: the path of a file holding the password',
    );
}

/** The files of the Kafka security variables, read once (a bad one: ConfigurationError naming it and its path). */
function kafkaSecurityOf(e: Environment): KafkaSecurity {
  try {
    return readKafkaSecurity({
      ssl: e.KAFKA_SSL === 'true',
      ...(e.KAFKA_SSL_CA_FILE !== undefined ? { caFile: e.KAFKA_SSL_CA_FILE } : {}),
      ...(e.KAFKA_SSL_CERT_FILE !== undefined ? { certFile: e.KAFKA_SSL_CERT_FILE } : {}),
      ...(e.KAFKA_SSL_KEY_FILE !== undefined ? { keyFile: e.KAFKA_SSL_KEY_FILE } : {}),
      ...(e.KAFKA_SASL_MECHANISM !== undefined
        ? {
            sasl: {
              mechanism: e.KAFKA_SASL_MECHANISM,
              username: e.KAFKA_SASL_USERNAME!,
              passwordFile: e.KAFKA_SASL_PASSWORD_FILE!,
            },
          }
        : {}),
    });
  } catch (error) {
    if (error instanceof KafkaSecurityProblem) throw new ConfigurationError(error.variable, error.message);
    throw error;
  }
}

export function loadConfiguration(env: Record<string, string | undefined>): AppConfig {
  const e = environmentOf(env);
  const kafkaSecurity = kafkaSecurityOf(e);
  const identityProvider = identityProviderOf(e);
  const outcomes = e.KAFKA_TOPIC_OUTCOMES;
  return {
    port: e.PORT,
    host: e.HOST ?? '127.0.0.1',
    dataDir: e.DATA_DIR ?? './data',
    eventStore: e.EVENT_STORE,
    ...(e.ESDB_CONNECTION_STRING !== undefined ? { esdbConnectionString: e.ESDB_CONNECTION_STRING } : {}),
    ...postgresOf(e),
    ...(e.KAFKA_BROKERS !== undefined ? { kafkaBrokers: e.KAFKA_BROKERS.split(',').map((b) => b.trim()) } : {}),
    kafkaSecurity,
    topics: {
      outcomes,
      commands: e.KAFKA_TOPIC_COMMANDS,
      commandResults: e.KAFKA_TOPIC_COMMAND_RESULTS,
      deadLetter: e.KAFKA_TOPIC_DEAD_LETTER,
      checkpoints: e.KAFKA_TOPIC_CHECKPOINTS,
    },
    forwarderId: e.KAFKA_FORWARDER_ID ?? `contact-orchestrator.${outcomes}`,
    ...(e.PLATFORM_TOKEN !== undefined ? { platformToken: e.PLATFORM_TOKEN } : {}),
    ...(e.METRICS_TOKEN !== undefined ? { metricsToken: e.METRICS_TOKEN } : {}),
    metricsLoopWindowSeconds: e.METRICS_LOOP_WINDOW_SECONDS,
    ...(e.SECURITY_USER_SIGNING_KEYS !== undefined
      ? { securityUserSigningKeys: signingKeysOf(e.SECURITY_USER_SIGNING_KEYS) as SigningKeyEntry[] }
      : {}),
    ...(e.SECURITY_USER_SIGNING_KEY !== undefined
      ? { securityUserSigningKeys: [{ kid: SINGLE_KEY_KID, secret: e.SECURITY_USER_SIGNING_KEY }] }
      : {}),
    securityUserTtlSeconds: e.SECURITY_USER_TTL_SECONDS,
    ...(identityProvider !== undefined ? { identityProvider } : {}),
    logLevel: e.LOG_LEVEL,
    anonymousRefusalsPerMinute: e.ANONYMOUS_REFUSALS_PER_MINUTE,
    agentRefusalsPerMinute: e.AGENT_REFUSALS_PER_MINUTE,
    sseHeartbeatMs: e.SSE_HEARTBEAT_MS,
    storeTimeoutMs: e.STORE_TIMEOUT_MS,
    endBatchRememberedBytes: e.END_BATCH_REMEMBERED_BYTES,
    http: {
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      idleTimeoutMs: e.HTTP_IDLE_TIMEOUT_MS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      maxConnectionsPerAddress: e.HTTP_MAX_CONNECTIONS_PER_ADDRESS,
      maxRequestsPerSocket: e.HTTP_MAX_REQUESTS_PER_SOCKET,
      bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
      largeBodyLimitBytes: e.HTTP_LARGE_BODY_LIMIT_BYTES,
      maxJsonDepth: e.HTTP_MAX_JSON_DEPTH,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      trustProxy: proxiesOf(e.TRUST_PROXY),
      streamsPerCredential: e.SSE_STREAMS_PER_CREDENTIAL,
      exportsPerCredential: e.AUDIT_EXPORTS_PER_CREDENTIAL,
      exportsAtOnce: e.AUDIT_EXPORTS_AT_ONCE,
    },
  };
}

/**
 * The configuration of the offline tools (views rebuild and verify, audit export, re-publish): where the stores and
 * topics are. They hold no credential, so the secrets are not read; random ones stand in for the checks.
 */
export function loadToolConfiguration(env: Record<string, string | undefined>): AppConfig {
  const {
    PLATFORM_TOKEN: _token,
    METRICS_TOKEN: _metrics,
    SECURITY_USER_SIGNING_KEY: _key,
    SECURITY_USER_SIGNING_KEYS: _keys,
    ...rest
  } = env;
  return loadConfiguration({
    ...rest,
    PLATFORM_TOKEN: randomBytes(24).toString('base64url'),
    SECURITY_USER_SIGNING_KEYS: `tool:${randomBytes(32).toString('base64url')}`,
  });
}
