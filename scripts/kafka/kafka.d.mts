// Types of what kafka.mjs exports, for the TypeScript tests that import it.

export type SaslSslListener = {
  /** PEM file of the broker's certificate (and any intermediates), and PEM file of its unencrypted private key. */
  certificateChain: string;
  key: string;
  /** PEM file of the CA that client certificates must chain to (needed for clientAuth `required`/`requested`). */
  truststore?: string;
  clientAuth?: 'none' | 'requested' | 'required';
  /** SCRAM users, created when the storage is formatted. Names and passwords: [A-Za-z0-9._-] only. */
  scram?: Array<{ mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; name: string; password: string }>;
  /** PLAIN users (name → password), in the listener's JAAS configuration. */
  plain?: Record<string, string>;
  /** Given: the KRaft authorizer is on, these users (and User:ANONYMOUS of the plaintext listener) are super users. */
  superUsers?: string[];
};

export type OwnBroker = {
  /** The PLAINTEXT listener (super user ANONYMOUS when the authorizer is on): for set-up, not for the system under test. */
  brokers: string[];
  /** The SASL_SSL listener; empty without `saslSsl`. */
  secureBrokers: string[];
  dataDir: string;
  logFile: string;
  pid: number;
  /** Ends the JVM and deletes its data dir; safe to call twice. */
  stop(): Promise<void>;
};

export function startBroker(options?: { saslSsl?: SaslSslListener }): Promise<OwnBroker>;
