import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/configuration.js';
import { Secret, type KafkaSecurity } from '../config/kafka-security.js';
import { explainKafkaFailure, kafkaClientConfig, kafkaSecurityFailure } from './kafka-client-config.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } =
  kafkajs;
/** kafkajs's own error classes, made as kafkajs makes them (its typings do not declare every constructor). */
const make = (type: unknown, ...args: unknown[]): Error => new (type as new (...a: unknown[]) => Error)(...args);

const PASSWORD = 'pw-that-must-never-show';
const config = (kafkaSecurity: KafkaSecurity): AppConfig =>
  ({ kafkaBrokers: ['k1:9093', 'k2:9093'], kafkaSecurity }) as AppConfig;
const full: KafkaSecurity = {
  tls: {
    ca: 'CA PEM',
    caFile: '/etc/kafka/ca.pem',
    client: {
      cert: 'CERT PEM',
      certFile: '/etc/kafka/client.pem',
      key: new Secret('KEY PEM'),
      keyFile: '/etc/kafka/client.key',
    },
  },
  sasl: {
    mechanism: 'scram-sha-256',
    username: 'orchestrator',
    password: new Secret(PASSWORD),
    passwordFile: '/run/secrets/kafka',
  },
};

describe('kafkaClientConfig: the kafkajs configuration of every client', () => {
  it('plaintext without authentication when nothing is configured (as before)', () => {
    expect(kafkaClientConfig(config({}), 'co-admin')).toEqual({
      clientId: 'co-admin',
      brokers: ['k1:9093', 'k2:9093'],
    });
  });

  it('TLS with the CA and the client certificate, SASL with the password of the file', () => {
    expect(kafkaClientConfig(config(full), 'co', { requestTimeout: 5_000 })).toEqual({
      clientId: 'co',
      brokers: ['k1:9093', 'k2:9093'],
      requestTimeout: 5_000,
      ssl: { rejectUnauthorized: true, ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' },
      sasl: { mechanism: 'scram-sha-256', username: 'orchestrator', password: PASSWORD },
    });
  });

  it('TLS alone: the system CAs, certificate checked', () => {
    expect(kafkaClientConfig(config({ tls: {} }), 'co').ssl).toEqual({ rejectUnauthorized: true });
  });

  it('a caller cannot replace the brokers or the security', () => {
    const settings = { ssl: false, sasl: undefined, brokers: ['evil:9092'] } as unknown as Parameters<
      typeof kafkaClientConfig
    >[2];
    expect(kafkaClientConfig(config(full), 'co', settings)).toMatchObject({
      brokers: ['k1:9093', 'k2:9093'],
      ssl: { ca: 'CA PEM' },
      sasl: { username: 'orchestrator' },
    });
  });

  it('needs KAFKA_BROKERS', () => {
    expect(() => kafkaClientConfig({ kafkaSecurity: {} } as unknown as AppConfig, 'co')).toThrow(/KAFKA_BROKERS/);
  });
});

describe('explainKafkaFailure: which setting the broker refused', () => {
  const retried = (error: Error) => make(KafkaJSNumberOfRetriesExceeded, error, { retryCount: 5, retryTime: 3_000 });

  it('SASL credentials refused: names the user, the mechanism and the password file, never the password', () => {
    const message = explainKafkaFailure(
      make(
        KafkaJSSASLAuthenticationError,
        'SASL SCRAM SHA256 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
      ),
      config(full),
    );
    expect(message).toMatch(
      /^Kafka at KAFKA_BROKERS=k1:9093,k2:9093 refused the SASL authentication of KAFKA_SASL_USERNAME=orchestrator with KAFKA_SASL_MECHANISM=scram-sha-256 and the password of KAFKA_SASL_PASSWORD_FILE: SASL SCRAM/,
    );
    expect(message).not.toContain(PASSWORD);
  });

  it.each([
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'CERT_HAS_EXPIRED',
  ])('an untrusted broker certificate (%s), behind kafkajs retries: names KAFKA_SSL_CA_FILE', (code) => {
    const error = retried(
      make(KafkaJSConnectionError, `Connection error: ${code.toLowerCase()}`, { broker: 'k1:9093', code }),
    );
    expect(explainKafkaFailure(error, config(full))).toMatch(
      new RegExp(
        `the broker's TLS certificate is not trusted by the CA of KAFKA_SSL_CA_FILE=/etc/kafka/ca.pem \\(${code}\\)`,
      ),
    );
    expect(explainKafkaFailure(error, config({ tls: {} }))).toContain(
      "not trusted by Node's default CAs (KAFKA_SSL_CA_FILE is not set)",
    );
  });

  it.each(['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'])(
    'the broker refusing the client certificate (%s), or its absence',
    (code) => {
      const error = retried(
        make(KafkaJSConnectionError, 'Connection error: ...:SSL alert number 42', { broker: 'k1:9093', code }),
      );
      expect(explainKafkaFailure(error, config(full))).toContain(
        `refused the TLS handshake (${code}): the client certificate of KAFKA_SSL_CERT_FILE=/etc/kafka/client.pem`,
      );
      expect(explainKafkaFailure(error, config({ tls: {} }))).toContain(
        `refused the TLS handshake (${code}): no client certificate: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE are not set`,
      );
    },
  );

  it("the same refusal when only OpenSSL's words are left (no code on the error kafkajs gave up with)", () => {
    const error = retried(
      make(
        KafkaJSConnectionError,
        'Connection error: 40FD:error:0A000412:SSL routines:ssl3_read_bytes:ssl/tls alert bad certificate:rec_layer_s3.c:918:SSL alert number 42',
        { broker: 'k1:9093' },
      ),
    );
    expect(explainKafkaFailure(error, config({ tls: {} }))).toContain(
      'refused the TLS handshake (TLS alert bad certificate): no client certificate: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE are not set',
    );
  });

  it('an ACL refusal names the principal and where the ACLs are', () => {
    const error = make(KafkaJSProtocolError, {
      message: 'Not authorized to access topics: [Topic authorization failed]',
      type: 'TOPIC_AUTHORIZATION_FAILED',
      code: 29,
      retriable: false,
    });
    expect(kafkaSecurityFailure(error, config(full))).toMatch(
      /does not allow KAFKA_SASL_USERNAME=orchestrator this \(TOPIC_AUTHORIZATION_FAILED; the ACLs it needs: docs\/kafka.md\)/,
    );
  });

  it('anything else: not reachable, saying how it connected', () => {
    const error = retried(
      make(KafkaJSConnectionError, 'Connection error: connect ECONNREFUSED 127.0.0.1:9093', {
        broker: 'k1:9093',
        code: 'ECONNREFUSED',
      }),
    );
    expect(kafkaSecurityFailure(error, config(full))).toBeUndefined();
    expect(explainKafkaFailure(error, config(full))).toBe(
      'Kafka is not reachable at KAFKA_BROKERS=k1:9093,k2:9093 (TLS, SASL scram-sha-256): Connection error: connect ECONNREFUSED 127.0.0.1:9093',
    );
    expect(explainKafkaFailure(error, config({}))).toBe(
      'Kafka is not reachable at KAFKA_BROKERS=k1:9093,k2:9093: Connection error: connect ECONNREFUSED 127.0.0.1:9093',
    );
  });
});
