/**
 * The one place a kafkajs client configuration is made from the service's configuration: the brokers, TLS (`ssl`)
 * and SASL (`sasl`) of KAFKA_SSL* / KAFKA_SASL*, for every client (the EndContact commands consumer and its
 * producer, the topic admin, the outcome forwarder, `fanout:republish`). Also says, for a failed connection, which
 * of those settings the broker refused.
 */
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { AppConfig } from '../config/configuration.js';
import type { KafkaSecurity } from '../config/kafka-security.js';

/** What a caller may add: its own logging, retries and timeouts; never other brokers or security. */
export type KafkaClientSettings = Omit<KafkaConfig, 'brokers' | 'clientId' | 'ssl' | 'sasl'>;

/** kafkajs `ssl` and `sasl` of the configuration; `{}` for plaintext without authentication. */
export function kafkaSecurityOptions(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security.tls) {
    const { ca, client } = security.tls;
    // Node's tls.connect options: with `ca`, only that CA is trusted; the broker's name (or IP) is always checked.
    const ssl: ConnectionOptions = { rejectUnauthorized: true };
    if (ca !== undefined) ssl.ca = ca;
    if (client) {
      ssl.cert = client.cert;
      ssl.key = client.key.reveal();
    }
    options.ssl = ssl;
  }
  if (security.sasl) {
    const { mechanism, username, password } = security.sasl;
    options.sasl = { mechanism, username, password: password.reveal() } as SASLOptions;
  }
  return options;
}

/** The kafkajs configuration of one client of the service. Requires `config.kafkaBrokers`. */
export function kafkaClientConfig(
  config: AppConfig,
  clientId: string,
  settings: KafkaClientSettings = {},
): KafkaConfig {
  const brokers = config.kafkaBrokers;
  if (!brokers || brokers.length === 0) throw new Error('a Kafka client needs config.kafkaBrokers (KAFKA_BROKERS)');
  return { ...settings, clientId, brokers, ...kafkaSecurityOptions(config.kafkaSecurity) };
}

/** Node's codes for a broker certificate that the configured CA does not vouch for, or that names another host. */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

type Link = { name?: string; code?: string; type?: string; message?: string };

/** OpenSSL's words for the alerts below (`ssl/tls alert bad certificate`). */
const CLIENT_CERTIFICATE_ALERT_TEXT =
  /tls alert (bad certificate|certificate required|unknown ca|certificate unknown|unsupported certificate|certificate expired|certificate revoked)/i;
/** OpenSSL alerts a broker sends when it does not take the client's certificate (Node: ERR_SSL_<reason>). */
const CLIENT_CERTIFICATE_REFUSED =
  /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED)$/;

/** The error and its causes (kafkajs wraps a connection error in retries: `cause`, `originalError`). */
function chainOf(error: unknown): Link[] {
  const chain: Link[] = [];
  let current = error as (Link & { cause?: unknown; originalError?: unknown }) | undefined;
  while (current && typeof current === 'object' && chain.length < 10 && !chain.includes(current)) {
    chain.push(current);
    current = (current.cause ?? current.originalError) as typeof current;
  }
  return chain;
}

/**
 * When Kafka refused the security settings, says which, in the terms of the configuration: the SASL credentials,
 * the broker's certificate not trusted by KAFKA_SSL_CA_FILE (or the system CAs), the client certificate (or its
 * absence) refused by the broker, or an ACL refusing the principal.
 * undefined for any other failure. The password is never part of it; kafkajs's own message ends it.
 */
export function kafkaSecurityFailure(
  error: unknown,
  config: Pick<AppConfig, 'kafkaBrokers' | 'kafkaSecurity'>,
): string | undefined {
  const chain = chainOf(error);
  const detail = (error as Error)?.message ?? String(error);
  const brokers = `KAFKA_BROKERS=${(config.kafkaBrokers ?? []).join(',')}`;
  const { tls, sasl } = config.kafkaSecurity;
  const principal = sasl
    ? `KAFKA_SASL_USERNAME=${sasl.username}`
    : 'the anonymous principal (KAFKA_SASL_MECHANISM is not set)';
  if (chain.some((e) => e.name === 'KafkaJSSASLAuthenticationError')) {
    const credentials = sasl
      ? `${principal} with KAFKA_SASL_MECHANISM=${sasl.mechanism} and the password of KAFKA_SASL_PASSWORD_FILE`
      : 'no SASL credentials (KAFKA_SASL_MECHANISM is not set)';
    return `Kafka at ${brokers} refused the SASL authentication of ${credentials}: ${detail}`;
  }
  const certificate = chain.find((e) => e.code !== undefined && UNTRUSTED_CERTIFICATE.has(e.code));
  if (certificate) {
    const trust =
      tls?.caFile !== undefined
        ? `the CA of KAFKA_SSL_CA_FILE=${tls.caFile}`
        : "Node's default CAs (KAFKA_SSL_CA_FILE is not set)";
    return `Kafka at ${brokers}: the broker's TLS certificate is not trusted by ${trust} (${certificate.code}): ${detail}`;
  }
  // By its code; else by OpenSSL's text, when the error kafkajs gave up with kept only the message (seen on Node 24).
  const coded = chain.find((e) => e.code !== undefined && CLIENT_CERTIFICATE_REFUSED.test(e.code))?.code;
  const said = chain
    .map((e) => CLIENT_CERTIFICATE_ALERT_TEXT.exec(e.message ?? '')?.[1])
    .find((text) => text !== undefined);
  const alert =
    coded !== undefined
      ? { code: coded }
      : said !== undefined
        ? { code: `TLS alert ${said.toLowerCase()}` }
        : undefined;
  if (alert) {
    const given = tls?.client
      ? `the client certificate of KAFKA_SSL_CERT_FILE=${tls.client.certFile} (is it issued by a CA the broker trusts, for client authentication?)`
      : 'no client certificate: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE are not set, and the broker requires one';
    return `Kafka at ${brokers} refused the TLS handshake (${alert.code}): ${given}: ${detail}`;
  }
  const refused = chain.find((e) => e.type?.endsWith('_AUTHORIZATION_FAILED'));
  if (refused)
    return `Kafka at ${brokers} does not allow ${principal} this (${refused.type}; the ACLs it needs: docs/kafka.md): ${detail}`;
  return undefined;
}

/** Why a Kafka client could not connect: kafkaSecurityFailure, or else the brokers are not reachable. */
export function explainKafkaFailure(error: unknown, config: Pick<AppConfig, 'kafkaBrokers' | 'kafkaSecurity'>): string {
  const { tls, sasl } = config.kafkaSecurity;
  const how = [tls ? 'TLS' : '', sasl ? `SASL ${sasl.mechanism}` : ''].filter(Boolean).join(', ');
  return (
    kafkaSecurityFailure(error, config) ??
    `Kafka is not reachable at KAFKA_BROKERS=${(config.kafkaBrokers ?? []).join(',')}${how ? ` (${how})` : ''}: ${(error as Error)?.message ?? String(error)}`
  );
}
