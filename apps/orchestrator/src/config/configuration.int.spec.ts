import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { printSkip } from '#harness/skip';
import { issue, makeCa, opensslMissing, type Pem } from '#harness/tls';
import { ConfigurationError, loadConfiguration, loadToolConfiguration } from './configuration.js';
import { EXAMPLE_SECRETS } from './secret-strength.js';

const TOKEN = randomBytes(24).toString('base64url');
const KEY = randomBytes(32).toString('base64url');
const OLD_KEY = randomBytes(32).toString('base64url');

/** The error refusing `env`, checked to name `variable`. */
const rejectionOf = (env: Record<string, string>, variable: string): ConfigurationError => {
  let error: unknown;
  try {
    loadConfiguration(env);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigurationError);
  expect((error as ConfigurationError).variable).toBe(variable);
  expect((error as Error).message).toContain(variable);
  return error as ConfigurationError;
};
const expectRejected = (env: Record<string, string>, variable: string): void => void rejectionOf(env, variable);

describe('configuration (docs/design.md, Configuration)', () => {
  it('defaults to the embedded store on port 3000, ./data, no Kafka', () => {
    const config = loadConfiguration({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: './data',
      eventStore: 'sqlite',
      logLevel: 'info',
    });
    expect(config.kafkaBrokers).toBeUndefined();
    expect(config.topics).toEqual({
      outcomes: 'contact.outcomes',
      commands: 'contact.commands',
      commandResults: 'contact.command-results',
      deadLetter: 'contact.commands.dlq',
      checkpoints: 'contact.outcomes.checkpoints',
    });
  });

  it('gives the outcome forwarder an identity per outcomes topic unless KAFKA_FORWARDER_ID names one', () => {
    expect(loadConfiguration({}).forwarderId).toBe('contact-orchestrator.contact.outcomes');
    expect(loadConfiguration({ KAFKA_TOPIC_OUTCOMES: 'eu.outcomes' }).forwarderId).toBe(
      'contact-orchestrator.eu.outcomes',
    );
    expect(loadConfiguration({ KAFKA_FORWARDER_ID: 'eu-1' }).forwarderId).toBe('eu-1');
  });

  it('reads every variable', () => {
    const config = loadConfiguration({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATA_DIR: '/var/lib/co',
      EVENT_STORE: 'esdb',
      ESDB_CONNECTION_STRING: 'esdb://localhost:2113?tls=false',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      KAFKA_TOPIC_OUTCOMES: 'outcomes',
      PLATFORM_TOKEN: 'a-platform-token-of-length',
      SECURITY_USER_SIGNING_KEY: KEY,
      SECURITY_USER_TTL_SECONDS: '600',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/var/lib/co',
      eventStore: 'esdb',
      kafkaBrokers: ['k1:9092', 'k2:9092'],
      securityUserTtlSeconds: 600,
      logLevel: 'debug',
    });
    expect(config.topics.outcomes).toBe('outcomes');
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ EVENT_STORE: 'mysql' }, 'EVENT_STORE'],
    [{ EVENT_STORE: 'postgres' }, 'POSTGRES_URL'],
    [{ EVENT_STORE: 'postgres', POSTGRES_URL: 'mysql://db/events' }, 'POSTGRES_URL'],
    [{ EVENT_STORE: 'postgres', POSTGRES_URL: 'postgresql://db:5432' }, 'POSTGRES_URL'],
    [{ EVENT_STORE: 'postgres', POSTGRES_URL: 'postgresql://db/events' }, 'PLATFORM_TOKEN'],
    [
      {
        EVENT_STORE: 'postgres',
        POSTGRES_URL: 'postgresql://db/events',
        POSTGRES_PASSWORD_FILE: '/nonexistent/password',
        PLATFORM_TOKEN: TOKEN,
        SECURITY_USER_SIGNING_KEY: KEY,
      },
      'POSTGRES_PASSWORD_FILE',
    ],
    [{ EVENT_STORE: 'esdb' }, 'ESDB_CONNECTION_STRING'],
    [{ EVENT_STORE: 'esdb', ESDB_CONNECTION_STRING: 'http://x' }, 'ESDB_CONNECTION_STRING'],
    [{ EVENT_STORE: 'esdb', ESDB_CONNECTION_STRING: 'esdb://x:2113' }, 'PLATFORM_TOKEN'],
    [
      { EVENT_STORE: 'esdb', ESDB_CONNECTION_STRING: 'esdb://x:2113', PLATFORM_TOKEN: TOKEN },
      'SECURITY_USER_SIGNING_KEYS',
    ],
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS'],
    [{ KAFKA_TOPIC_OUTCOMES: 'bad topic' }, 'KAFKA_TOPIC_OUTCOMES'],
    [{ PLATFORM_TOKEN: 'short' }, 'PLATFORM_TOKEN'],
    [{ SECURITY_USER_SIGNING_KEY: 'short' }, 'SECURITY_USER_SIGNING_KEY'],
    [{ SECURITY_USER_TTL_SECONDS: '1' }, 'SECURITY_USER_TTL_SECONDS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ KAFKA_FORWARDER_ID: 'has space' }, 'KAFKA_FORWARDER_ID'],
    [{ SSE_HEARTBEAT_MS: '5' }, 'SSE_HEARTBEAT_MS'],
  ])('refuses %j naming %s', (env, variable) => expectRejected(env, variable));

  it('reads POSTGRES_URL, with the password of POSTGRES_PASSWORD_FILE when one is given', () => {
    const env = {
      EVENT_STORE: 'postgres',
      POSTGRES_URL: 'postgresql://svc:inline@db:5432/events',
      PLATFORM_TOKEN: TOKEN,
      SECURITY_USER_SIGNING_KEY: KEY,
    };
    expect(loadConfiguration(env)).toMatchObject({
      eventStore: 'postgres',
      postgresConnectionString: 'postgresql://svc:inline@db:5432/events',
    });
    const dir = mkdtempSync(join(tmpdir(), 'co-config-pg-'));
    try {
      writeFileSync(join(dir, 'password'), 'from-file\n');
      const config = loadConfiguration({ ...env, POSTGRES_PASSWORD_FILE: join(dir, 'password') });
      expect(new URL(config.postgresConnectionString!).password).toBe('from-file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const esdb = (connectionString: string): Record<string, string> => ({
    EVENT_STORE: 'esdb',
    ESDB_CONNECTION_STRING: connectionString,
    PLATFORM_TOKEN: TOKEN,
    SECURITY_USER_SIGNING_KEY: KEY,
  });

  it.each([
    'kurrentdb://node1:2113?tls=false',
    'kdb://node1:2113',
    'kurrentdb+discover://cluster:2113',
    'kdb+discover://a,b,c?nodePreference=leader',
  ])('accepts the KurrentDB connection string %s', (connectionString) =>
    expect(loadConfiguration(esdb(connectionString)).esdbConnectionString).toBe(connectionString),
  );

  it.each([
    'kurrentdb://',
    'kdb://node1:abc',
    'esdb://node1:2113:7',
    'kurrentdb://node1?tls=maybe',
    'kdb://node1?tlsVerifyCert=false',
    'esdb://node1?retries=3',
    'esdb://node1?tls',
  ])(
    'refuses the connection string %s at start, naming ESDB_CONNECTION_STRING (exit 78, not a crash)',
    (connectionString) => expectRejected(esdb(connectionString), 'ESDB_CONNECTION_STRING'),
  );

  describe('secrets: length, entropy, example values', () => {
    it.each<[string, Record<string, string>, string]>([
      ['a 16-character platform token', { PLATFORM_TOKEN: 'p4T9-xQ2_mZ8rL1k' }, 'PLATFORM_TOKEN'],
      ['a long platform token of one repeated character', { PLATFORM_TOKEN: 'p'.repeat(40) }, 'PLATFORM_TOKEN'],
      ['a signing key of 32 × "a"', { SECURITY_USER_SIGNING_KEY: 'a'.repeat(32) }, 'SECURITY_USER_SIGNING_KEY'],
      ['a 64-byte key of two characters', { SECURITY_USER_SIGNING_KEY: 'ab'.repeat(32) }, 'SECURITY_USER_SIGNING_KEY'],
      [
        'a weak key in the ring',
        { SECURITY_USER_SIGNING_KEYS: `new:${KEY},old:${'a'.repeat(32)}` },
        'SECURITY_USER_SIGNING_KEYS',
      ],
      ['the alphabet as a platform token', { PLATFORM_TOKEN: 'abcdefghijklmnopqrstuvwxyz' }, 'PLATFORM_TOKEN'],
      [
        'digits then letters as a signing key',
        { SECURITY_USER_SIGNING_KEY: '0123456789abcdefghijklmnopqrstuv' },
        'SECURITY_USER_SIGNING_KEY',
      ],
      ['the alphabet backwards', { PLATFORM_TOKEN: 'zyxwvutsrqponmlkjihgfedcba' }, 'PLATFORM_TOKEN'],
      [
        'a repeated block of distinct characters',
        { SECURITY_USER_SIGNING_KEY: 'Qz7!'.repeat(10) },
        'SECURITY_USER_SIGNING_KEY',
      ],
      ...EXAMPLE_SECRETS.map((value): [string, Record<string, string>, string] => [
        `the example value ${value}`,
        { PLATFORM_TOKEN: value },
        'PLATFORM_TOKEN',
      ]),
      ...EXAMPLE_SECRETS.map((value): [string, Record<string, string>, string] => [
        `the example value ${value}`,
        { SECURITY_USER_SIGNING_KEY: value },
        'SECURITY_USER_SIGNING_KEY',
      ]),
    ])('refuses %s, naming the variable', (_what, env, variable) => expectRejected(env, variable));

    it('never echoes a refused secret', () => {
      const weak = 'a'.repeat(40);
      expect(() => loadConfiguration({ SECURITY_USER_SIGNING_KEYS: `k1:${weak}` })).toThrow(
        /key k1 is too predictable/,
      );
      try {
        loadConfiguration({ SECURITY_USER_SIGNING_KEYS: `k1:${weak}` });
      } catch (error) {
        expect((error as Error).message).not.toContain(weak);
      }
    });

    it('accepts generated secrets (openssl rand -base64 32, hex)', () => {
      const config = loadConfiguration({
        PLATFORM_TOKEN: TOKEN,
        SECURITY_USER_SIGNING_KEY: randomBytes(32).toString('hex'),
      });
      expect(config.platformToken).toBe(TOKEN);
      expect(
        loadConfiguration({ SECURITY_USER_SIGNING_KEY: randomBytes(32).toString('base64') }).securityUserSigningKeys,
      ).toHaveLength(1);
    });
  });

  describe("METRICS_TOKEN: the scrapers' token (docs/security.md)", () => {
    it('is unset unless given, and read when it is', () => {
      expect(loadConfiguration({}).metricsToken).toBeUndefined();
      const metricsToken = randomBytes(24).toString('base64url');
      expect(loadConfiguration({ METRICS_TOKEN: metricsToken }).metricsToken).toBe(metricsToken);
    });

    it.each([
      ['a 16-character token', 'm4T9-xQ2_mZ8rL1k'],
      ['a long token of one repeated character', 'm'.repeat(40)],
      ['the alphabet', 'abcdefghijklmnopqrstuvwxyz'],
      ...EXAMPLE_SECRETS.map((value) => [`the example value ${value}`, value]),
    ])('refuses %s as the platform token would be, naming METRICS_TOKEN and never echoing it', (_what, value) => {
      const error = rejectionOf({ METRICS_TOKEN: value }, 'METRICS_TOKEN');
      expect(error.message).not.toContain(value);
    });

    it('is not read by the offline tools, which serve no HTTP', () => {
      expect(loadToolConfiguration({ METRICS_TOKEN: 'short' }).metricsToken).toBeUndefined();
    });
  });

  describe('METRICS_LOOP_WINDOW_SECONDS: the window of the event-loop delay gauges (docs/operations.md)', () => {
    it('is 60 s unless given, and 1 to 600 s', () => {
      expect(loadConfiguration({}).metricsLoopWindowSeconds).toBe(60);
      expect(loadConfiguration({ METRICS_LOOP_WINDOW_SECONDS: '1' }).metricsLoopWindowSeconds).toBe(1);
      expect(loadConfiguration({ METRICS_LOOP_WINDOW_SECONDS: '600' }).metricsLoopWindowSeconds).toBe(600);
    });

    it.each(['0', '601', '1.5', '-1', 'a minute', '0x10', '1e2', '+5'])(
      'refuses %j, naming the variable and the range',
      (value) => {
        expect(rejectionOf({ METRICS_LOOP_WINDOW_SECONDS: value }, 'METRICS_LOOP_WINDOW_SECONDS').message).toContain(
          'must be an integer from 1 to 600',
        );
      },
    );
  });

  describe('SECURITY_USER_SIGNING_KEYS: the key ring, newest first', () => {
    it('reads kid:secret entries in order; the first signs', () => {
      expect(
        loadConfiguration({ SECURITY_USER_SIGNING_KEYS: `2026-12:${KEY}, 2026-06:${OLD_KEY}` }).securityUserSigningKeys,
      ).toEqual([
        { kid: '2026-12', secret: KEY },
        { kid: '2026-06', secret: OLD_KEY },
      ]);
    });

    it('keeps SECURITY_USER_SIGNING_KEY working as a ring of one key, kid "default"', () => {
      expect(loadConfiguration({ SECURITY_USER_SIGNING_KEY: KEY }).securityUserSigningKeys).toEqual([
        { kid: 'default', secret: KEY },
      ]);
    });

    it.each([[`${KEY}`], [`k1:${KEY},k1:${OLD_KEY}`], [`bad kid:${KEY}`], [`:${KEY}`]])('refuses %s', (value) =>
      expectRejected({ SECURITY_USER_SIGNING_KEYS: value }, 'SECURITY_USER_SIGNING_KEYS'),
    );

    it('refuses both variables at once', () => {
      expectRejected(
        { SECURITY_USER_SIGNING_KEY: KEY, SECURITY_USER_SIGNING_KEYS: `k1:${OLD_KEY}` },
        'SECURITY_USER_SIGNING_KEYS',
      );
    });

    it('is enough for EVENT_STORE=esdb', () => {
      expect(
        loadConfiguration({
          ...esdb('esdb://x:2113'),
          SECURITY_USER_SIGNING_KEY: '',
          SECURITY_USER_SIGNING_KEYS: `k1:${KEY}`,
        }).securityUserSigningKeys,
      ).toHaveLength(1);
    });
  });
});

describe('SECURITY_USER_JWKS_URL and its variables: SecurityUsers from an identity provider', () => {
  const idp = {
    SECURITY_USER_JWKS_URL: 'https://login.example.com/tenant/discovery/v2.0/keys',
    SECURITY_USER_ISSUER: 'https://login.example.com/tenant/v2.0',
    SECURITY_USER_AUDIENCE: 'api://contact-orchestrator',
  };

  it('is off unless the URL is set', () => {
    expect(loadConfiguration({}).identityProvider).toBeUndefined();
  });

  it('with the URL, issuer and audience: sub names the agent, RS256, ES256, EdDSA, and the key set timings', () => {
    expect(loadConfiguration(idp).identityProvider).toStrictEqual({
      jwksUrl: idp.SECURITY_USER_JWKS_URL,
      issuer: idp.SECURITY_USER_ISSUER,
      audience: idp.SECURITY_USER_AUDIENCE,
      agentClaim: 'sub',
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      timeoutMs: 5_000,
      cooldownMs: 30_000,
      cacheMaxAgeMs: 600_000,
    });
  });

  it('reads the agent claim, the algorithms and the timings', () => {
    expect(
      loadConfiguration({
        ...idp,
        SECURITY_USER_AGENT_CLAIM: 'preferred_username',
        SECURITY_USER_ALGORITHMS: 'ES384, PS256,ES384',
        SECURITY_USER_JWKS_TIMEOUT_MS: '2000',
        SECURITY_USER_JWKS_COOLDOWN_MS: '60000',
        SECURITY_USER_JWKS_MAX_AGE_SECONDS: '3600',
      }).identityProvider,
    ).toMatchObject({
      agentClaim: 'preferred_username',
      algorithms: ['ES384', 'PS256'],
      timeoutMs: 2_000,
      cooldownMs: 60_000,
      cacheMaxAgeMs: 3_600_000,
    });
  });

  it('takes http:// to a loopback address only', () => {
    expect(
      loadConfiguration({ ...idp, SECURITY_USER_JWKS_URL: 'http://127.0.0.1:8080/keys' }).identityProvider?.jwksUrl,
    ).toBe('http://127.0.0.1:8080/keys');
    expect(
      rejectionOf({ ...idp, SECURITY_USER_JWKS_URL: 'http://idp.example.com/keys' }, 'SECURITY_USER_JWKS_URL').message,
    ).toContain('https://');
  });

  it.each<[Record<string, string>, string, string]>([
    [{ SECURITY_USER_JWKS_URL: 'login.example.com/keys' }, 'SECURITY_USER_JWKS_URL', 'absolute URL'],
    [{ SECURITY_USER_JWKS_URL: 'ftp://login.example.com/keys' }, 'SECURITY_USER_JWKS_URL', 'https://'],
    [{ SECURITY_USER_JWKS_URL: 'https://u:p@login.example.com/keys' }, 'SECURITY_USER_JWKS_URL', 'password'],
    [{ SECURITY_USER_ISSUER: '' }, 'SECURITY_USER_ISSUER', 'is required when SECURITY_USER_JWKS_URL is set'],
    [{ SECURITY_USER_AUDIENCE: ' ' }, 'SECURITY_USER_AUDIENCE', 'is required when SECURITY_USER_JWKS_URL is set'],
    [{ SECURITY_USER_ALGORITHMS: 'none' }, 'SECURITY_USER_ALGORITHMS', 'must not allow none'],
    [{ SECURITY_USER_ALGORITHMS: 'RS256,HS256' }, 'SECURITY_USER_ALGORITHMS', 'must not allow HS256'],
    [{ SECURITY_USER_ALGORITHMS: 'hs512' }, 'SECURITY_USER_ALGORITHMS', 'must not allow hs512'],
    [{ SECURITY_USER_ALGORITHMS: 'RS256,RS1' }, 'SECURITY_USER_ALGORITHMS', 'got "RS1"'],
    [{ SECURITY_USER_ALGORITHMS: ',' }, 'SECURITY_USER_ALGORITHMS', 'at least one'],
    [{ SECURITY_USER_AGENT_CLAIM: 'agent id' }, 'SECURITY_USER_AGENT_CLAIM', 'a claim name'],
    [{ SECURITY_USER_JWKS_COOLDOWN_MS: '0' }, 'SECURITY_USER_JWKS_COOLDOWN_MS', 'an integer from 1000'],
    [{ SECURITY_USER_JWKS_TIMEOUT_MS: '5s' }, 'SECURITY_USER_JWKS_TIMEOUT_MS', 'an integer'],
  ])('refuses %j, naming %s', (change, variable, message) => {
    expect(rejectionOf({ ...idp, ...change }, variable).message).toContain(message);
  });

  it.each(['SECURITY_USER_ISSUER', 'SECURITY_USER_AUDIENCE', 'SECURITY_USER_AGENT_CLAIM', 'SECURITY_USER_ALGORITHMS'])(
    'refuses %s without the URL (it would be ignored)',
    (variable) => {
      const value = variable === 'SECURITY_USER_ALGORITHMS' ? 'ES256' : 'x';
      expect(rejectionOf({ [variable]: value }, variable).message).toContain('SECURITY_USER_JWKS_URL is not');
    },
  );
});

describe('Kafka TLS and SASL (KAFKA_SSL*, KAFKA_SASL*)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'co-kafka-config-'));
  const file = (name: string, content: string, mode = 0o600): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode });
    return path;
  };
  const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
  const passwordFile = file('password', `${PASSWORD}\n`);
  const missing = join(dir, 'no-such-file');
  const notPem = file('not-pem', 'hello\n');
  const scram = {
    KAFKA_BROKERS: 'k1:9093',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'svc',
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('without any of them: plaintext, no authentication, as before', () => {
    expect(loadConfiguration({ KAFKA_BROKERS: 'k1:9092' }).kafkaSecurity).toEqual({});
    expect(loadConfiguration({ KAFKA_BROKERS: 'k1:9092', KAFKA_SSL: 'false' }).kafkaSecurity).toEqual({});
  });

  it('KAFKA_SSL=true alone: TLS with the system CAs', () => {
    expect(loadConfiguration({ KAFKA_BROKERS: 'k1:9093', KAFKA_SSL: 'true' }).kafkaSecurity).toEqual({ tls: {} });
  });

  it('reads the SASL password from its file (less the final line break), and never shows it', () => {
    const sasl = loadConfiguration(scram).kafkaSecurity.sasl!;
    expect(sasl).toMatchObject({ mechanism: 'scram-sha-512', username: 'svc', passwordFile });
    expect(sasl.password.reveal()).toBe(PASSWORD);
    const config = loadConfiguration({ ...scram, KAFKA_SSL: 'true' });
    expect(JSON.stringify(config)).not.toContain(PASSWORD);
    expect(inspect(config, { depth: 10 })).not.toContain(PASSWORD);
    expect(String(sasl.password)).toBe('[redacted]');
  });

  it.each(['PLAIN', 'Scram-SHA-256', 'scram-sha-512'])('takes the mechanism %s in any case', (mechanism) => {
    expect(
      loadConfiguration({ ...scram, KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: mechanism }).kafkaSecurity.sasl!.mechanism,
    ).toBe(mechanism.toLowerCase());
  });

  it.each<[string, Record<string, string>, string]>([
    ['KAFKA_SSL=yes', { KAFKA_SSL: 'yes' }, 'KAFKA_SSL'],
    ['a CA file while TLS is off', { KAFKA_SSL_CA_FILE: notPem }, 'KAFKA_SSL_CA_FILE'],
    [
      'a client certificate while TLS is off',
      { KAFKA_SSL: 'false', KAFKA_SSL_CERT_FILE: notPem, KAFKA_SSL_KEY_FILE: notPem },
      'KAFKA_SSL_CERT_FILE',
    ],
    ['a certificate without its key', { KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: notPem }, 'KAFKA_SSL_KEY_FILE'],
    ['a key without its certificate', { KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: notPem }, 'KAFKA_SSL_CERT_FILE'],
    ['a CA file that does not exist', { KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: missing }, 'KAFKA_SSL_CA_FILE'],
    ['a CA file that is a folder', { KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: dir }, 'KAFKA_SSL_CA_FILE'],
    ['a CA file without a certificate', { KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: notPem }, 'KAFKA_SSL_CA_FILE'],
    ['an unknown mechanism', { ...scram, KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM'],
    [
      'plain without TLS (the password would cross the network as it is)',
      { ...scram, KAFKA_SASL_MECHANISM: 'plain' },
      'KAFKA_SASL_MECHANISM',
    ],
    ['a username without a mechanism', { KAFKA_SASL_USERNAME: 'svc' }, 'KAFKA_SASL_MECHANISM'],
    ['a password file without a mechanism', { KAFKA_SASL_PASSWORD_FILE: passwordFile }, 'KAFKA_SASL_MECHANISM'],
    ['a mechanism without a username', { ...scram, KAFKA_SASL_USERNAME: '' }, 'KAFKA_SASL_USERNAME'],
    ['a mechanism without a password file', { ...scram, KAFKA_SASL_PASSWORD_FILE: ' ' }, 'KAFKA_SASL_PASSWORD_FILE'],
    [
      'a password file that does not exist',
      { ...scram, KAFKA_SASL_PASSWORD_FILE: missing },
      'KAFKA_SASL_PASSWORD_FILE',
    ],
    ['an empty password file', { ...scram, KAFKA_SASL_PASSWORD_FILE: file('empty', '\n') }, 'KAFKA_SASL_PASSWORD_FILE'],
    [
      'a password file of two lines',
      { ...scram, KAFKA_SASL_PASSWORD_FILE: file('two-lines', 'a\nb\n') },
      'KAFKA_SASL_PASSWORD_FILE',
    ],
  ])('refuses %s, naming the variable', (_what, env, variable) => expectRejected(env, variable));

  it('names the path of a file it cannot use, and why', () => {
    expect(rejectionOf({ ...scram, KAFKA_SASL_PASSWORD_FILE: missing }, 'KAFKA_SASL_PASSWORD_FILE').message).toBe(
      `Invalid configuration: KAFKA_SASL_PASSWORD_FILE ${JSON.stringify(missing)} does not exist (ENOENT)`,
    );
    expect(rejectionOf({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: notPem }, 'KAFKA_SSL_CA_FILE').message).toContain(
      JSON.stringify(notPem),
    );
  });

  it.skipIf(process.getuid?.() === 0)('names an unreadable password file (not as missing)', () => {
    const locked = file('locked', PASSWORD, 0o000);
    chmodSync(locked, 0o000);
    expect(rejectionOf({ ...scram, KAFKA_SASL_PASSWORD_FILE: locked }, 'KAFKA_SASL_PASSWORD_FILE').message).toContain(
      "cannot be read by the service's user (EACCES)",
    );
  });

  it('refuses the password given in the environment, without echoing it', () => {
    const error = rejectionOf({ ...scram, KAFKA_SASL_PASSWORD: PASSWORD }, 'KAFKA_SASL_PASSWORD');
    expect(error.message).toContain('KAFKA_SASL_PASSWORD_FILE');
    expect(error.message).not.toContain(PASSWORD);
  });

  describe('certificate files', () => {
    const reason = opensslMissing();
    let ca: Pem;
    let client: Pem;
    let other: Pem;
    beforeAll(() => {
      if (reason) return printSkip('Kafka TLS configuration: certificate files', reason);
      const certs = join(dir, 'certs');
      mkdirSync(certs);
      ca = makeCa(certs, 'ca');
      client = issue(ca, certs, 'client', 'client');
      other = issue(ca, certs, 'other', 'client');
    });

    it.skipIf(reason !== undefined)('reads the CA, the client certificate and its key; the key is never shown', () => {
      const config = loadConfiguration({
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: ca.certFile,
        KAFKA_SSL_CERT_FILE: client.certFile,
        KAFKA_SSL_KEY_FILE: client.keyFile,
      });
      const tls = config.kafkaSecurity.tls!;
      expect(tls).toMatchObject({
        ca: ca.cert,
        caFile: ca.certFile,
        client: { cert: client.cert, certFile: client.certFile, keyFile: client.keyFile },
      });
      expect(tls.client!.key.reveal()).toBe(client.key);
      const keyBody = client.key.split('\n')[1]!;
      expect(JSON.stringify(config)).not.toContain(keyBody);
      expect(inspect(config, { depth: 10 })).not.toContain(keyBody);
    });

    it.skipIf(reason !== undefined)(
      "refuses a key that is not the certificate's, or not a key, naming KAFKA_SSL_KEY_FILE",
      () => {
        const env = { KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: client.certFile };
        expect(rejectionOf({ ...env, KAFKA_SSL_KEY_FILE: other.keyFile }, 'KAFKA_SSL_KEY_FILE').message).toContain(
          'is not the key of the certificate',
        );
        expect(rejectionOf({ ...env, KAFKA_SSL_KEY_FILE: client.certFile }, 'KAFKA_SSL_KEY_FILE').message).toContain(
          'holds no PEM private key',
        );
        expectRejected({ ...env, KAFKA_SSL_KEY_FILE: missing }, 'KAFKA_SSL_KEY_FILE');
      },
    );

    it.skipIf(reason !== undefined)(
      'refuses a client certificate file without a certificate, naming KAFKA_SSL_CERT_FILE',
      () => {
        expectRejected(
          { KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: client.keyFile, KAFKA_SSL_KEY_FILE: client.keyFile },
          'KAFKA_SSL_CERT_FILE',
        );
      },
    );
  });
});
