/**
 * TLS and SASL of the Kafka clients (KAFKA_SSL*, KAFKA_SASL*): the files they name, read once at start. The schema
 * in configuration.ts checks the variables and how they go together; this reads the CA, the client certificate and
 * its key, and the SASL password, and checks that each is what it should be. A file that is missing, unreadable or
 * wrong stops the service (exit 78) naming the variable and the path. The password is never taken from the
 * environment's value or the command line, and never printed (see Secret).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** A secret read from a file: JSON, util.inspect and string conversion show `[redacted]`; `reveal()` hands it over. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

export type KafkaTls = {
  /** PEM of KAFKA_SSL_CA_FILE: the only CAs trusted for the brokers' certificates. Absent: Node's default CAs. */
  ca?: string;
  caFile?: string;
  /** The client certificate (PEM, KAFKA_SSL_CERT_FILE) and its private key (KAFKA_SSL_KEY_FILE), when the brokers ask for one. */
  client?: { cert: string; certFile: string; key: Secret; keyFile: string };
};

export type KafkaSasl = { mechanism: KafkaSaslMechanism; username: string; password: Secret; passwordFile: string };

/** Absent parts: plaintext, no authentication (the default, as before these settings existed). */
export type KafkaSecurity = { tls?: KafkaTls; sasl?: KafkaSasl };

/** A start-up problem of one variable, thrown by the readers below and reported by configuration.ts. */
export class KafkaSecurityProblem extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

const UNREADABLE: Record<string, string> = {
  ENOENT: 'does not exist',
  EACCES: "cannot be read by the service's user",
  EPERM: "cannot be read by the service's user",
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'is not a file (a part of the path is not a folder)',
};

function readText(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new KafkaSecurityProblem(
      variable,
      `${JSON.stringify(path)} ${UNREADABLE[e.code ?? ''] ?? 'cannot be read'} (${e.code ?? e.message})`,
    );
  }
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readCertificates(variable: string, path: string): { pem: string; certificates: X509Certificate[] } {
  const pem = readText(variable, path);
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0)
    throw new KafkaSecurityProblem(
      variable,
      `${JSON.stringify(path)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  const certificates = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new KafkaSecurityProblem(
        variable,
        `${JSON.stringify(path)}: certificate ${i + 1} cannot be parsed: ${(error as Error).message}`,
      );
    }
  });
  return { pem, certificates };
}

/** KAFKA_SASL_PASSWORD_FILE: the whole file, less the line break(s) an editor or `echo` leaves at its end. */
function readPassword(variable: string, path: string): Secret {
  const password = readText(variable, path).replace(/[\r\n]+$/, '');
  if (password === '') throw new KafkaSecurityProblem(variable, `${JSON.stringify(path)} is empty`);
  if (/[\r\n]/.test(password))
    throw new KafkaSecurityProblem(
      variable,
      `${JSON.stringify(path)} holds more than one line: it must hold the password alone`,
    );
  return new Secret(password);
}

/** The Kafka security variables as the schema checked them (configuration.ts): paths, not contents yet. */
export type KafkaSecuritySettings = {
  ssl: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  sasl?: { mechanism: KafkaSaslMechanism; username: string; passwordFile: string };
};

function readClientCertificate(certFile: string, keyFile: string): NonNullable<KafkaTls['client']> {
  const { pem: cert, certificates } = readCertificates('KAFKA_SSL_CERT_FILE', certFile);
  const keyPem = readText('KAFKA_SSL_KEY_FILE', keyFile);
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    const problem = /ENCRYPTED/.test(keyPem)
      ? 'is an encrypted key: give it unencrypted (in a file only the service can read)'
      : `holds no PEM private key (${(error as Error).message})`;
    throw new KafkaSecurityProblem('KAFKA_SSL_KEY_FILE', `${JSON.stringify(keyFile)} ${problem}`);
  }
  if (!certificates[0]!.checkPrivateKey(key)) {
    throw new KafkaSecurityProblem(
      'KAFKA_SSL_KEY_FILE',
      `${JSON.stringify(keyFile)} is not the key of the certificate in KAFKA_SSL_CERT_FILE (${JSON.stringify(certFile)})`,
    );
  }
  return { cert, certFile, key: new Secret(keyPem), keyFile };
}

/** Reads the files the settings name; throws a KafkaSecurityProblem naming the variable and the path of the first bad one. */
export function readKafkaSecurity(settings: KafkaSecuritySettings): KafkaSecurity {
  const security: KafkaSecurity = {};
  if (settings.ssl) {
    const tls: KafkaTls = {};
    if (settings.caFile !== undefined) {
      tls.ca = readCertificates('KAFKA_SSL_CA_FILE', settings.caFile).pem;
      tls.caFile = settings.caFile;
    }
    if (settings.certFile !== undefined && settings.keyFile !== undefined)
      tls.client = readClientCertificate(settings.certFile, settings.keyFile);
    security.tls = tls;
  }
  if (settings.sasl) {
    const { mechanism, username, passwordFile } = settings.sasl;
    security.sasl = {
      mechanism,
      username,
      password: readPassword('KAFKA_SASL_PASSWORD_FILE', passwordFile),
      passwordFile,
    };
  }
  return security;
}
