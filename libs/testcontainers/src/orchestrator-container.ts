/**
 * contact-orchestrator in a container, for an integrator's own tests (docs/containers.md, "Use it in your own tests"):
 * started with a generated platform token and signing key, answering on 127.0.0.1, with helpers to seed a business
 * unit and issue a SecurityUser over the service's own HTTP API.
 */
import { randomBytes } from 'node:crypto';
import {
  AbstractStartedContainer,
  GenericContainer,
  Wait,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import type { StartedApacheKafkaContainer } from './kafka-container.js';

/** The tag `docker compose build` and the project's tests give the image built from this repository. */
export const ORCHESTRATOR_IMAGE = 'contact-orchestrator:local';
const HTTP_PORT = 3000;

export type SeededBusinessUnit = {
  businessUnitId: string;
  /** An agent allowed to end and view contacts, and its SecurityUser (a bearer token). */
  agentId: string;
  securityUser: string;
};

export class ContactOrchestratorContainer extends GenericContainer {
  private readonly platformToken = randomBytes(32).toString('base64url');
  private readonly signingKey = `k1:${randomBytes(32).toString('base64url')}`;
  private kafkaNetwork: StartedNetwork | undefined;

  constructor(image: string = ORCHESTRATOR_IMAGE) {
    super(image);
    this.withExposedPorts(HTTP_PORT)
      .withEnvironment({ PLATFORM_TOKEN: this.platformToken, SECURITY_USER_SIGNING_KEYS: this.signingKey })
      .withWaitStrategy(Wait.forHttp('/health', HTTP_PORT).forStatusCode(200))
      .withStartupTimeout(120_000);
  }

  /** Outcomes fan out to this broker: a started Kafka container (joined on its network), or `host:port` list. */
  withKafka(kafka: StartedApacheKafkaContainer | string): this {
    if (typeof kafka === 'string') return this.withEnvironment({ KAFKA_BROKERS: kafka });
    this.kafkaNetwork = kafka.network;
    return this.withEnvironment({ KAFKA_BROKERS: kafka.getInternalBootstrapServers() });
  }

  /** EventStoreDB or KurrentDB as the event store instead of the embedded one (an esdb:// or kurrentdb:// URL). */
  withEventStoreDb(connectionString: string): this {
    return this.withEnvironment({ EVENT_STORE: 'esdb', ESDB_CONNECTION_STRING: connectionString });
  }

  override async start(): Promise<StartedContactOrchestratorContainer> {
    if (this.kafkaNetwork) this.withNetwork(this.kafkaNetwork);
    return new StartedContactOrchestratorContainer(await super.start(), this.platformToken);
  }
}

export class StartedContactOrchestratorContainer extends AbstractStartedContainer {
  constructor(
    started: StartedTestContainer,
    readonly platformToken: string,
  ) {
    super(started);
  }

  /** `http://127.0.0.1:<port>`, read again each time: a restarted container may be published on another port. */
  get baseUrl(): string {
    return `http://${this.getHost()}:${this.getMappedPort(HTTP_PORT)}`;
  }

  /** A request with the platform token (or `token`), JSON in and out; throws on a status outside 2xx. */
  async call<T>(method: string, path: string, body?: unknown, token: string = this.platformToken): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A business unit with one active agent that may end and view contacts, and that agent's SecurityUser. */
  async seedBusinessUnit(businessUnitId: string, agentId = `${businessUnitId}-agent`): Promise<SeededBusinessUnit> {
    await this.call('PUT', '/v1/security-profiles/contact-ender', {
      name: 'contact-ender',
      permissions: ['Contacts.End', 'Contacts.View'],
    });
    await this.call('PUT', `/v1/agents/${encodeURIComponent(agentId)}`, {
      businessUnitId,
      securityProfileId: 'contact-ender',
      active: true,
    });
    return { businessUnitId, agentId, securityUser: await this.issueSecurityUser(agentId) };
  }

  /** A SecurityUser (bearer token) for an agent the directory knows. */
  async issueSecurityUser(agentId: string): Promise<string> {
    return (await this.call<{ securityUser: string }>('POST', '/v1/security-users', { agentId })).securityUser;
  }
}
