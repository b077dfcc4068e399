/**
 * Apache Kafka (the official `apache/kafka` image, KRaft, one node) for tests, reachable two ways: from this machine at
 * `getBootstrapServers()` (127.0.0.1 and a published port) and from other containers on its network at
 * `getInternalBootstrapServers()` (`<alias>:19092`). docs/containers.md tells how the listeners are laid out.
 */
import { createServer } from 'node:net';
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';

/** The broker release the project's tests and docker-compose.yml run. */
export const KAFKA_IMAGE = 'apache/kafka:4.4.0';
const HOST_LISTENER_PORT = 9092;
const INTERNAL_LISTENER_PORT = 19092;

/** A port free on 127.0.0.1 right now: the broker must advertise its host port before it starts. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

export class ApacheKafkaContainer {
  private network: StartedNetwork | undefined;
  private alias = `kafka-${Math.random().toString(36).slice(2, 10)}`;
  private labels: Record<string, string> = {};
  private environment: Record<string, string> = {};

  constructor(private readonly image: string = KAFKA_IMAGE) {}

  /** Joins `network` under `alias` (otherwise a network of its own is created, and removed by stop()). */
  withNetwork(network: StartedNetwork, alias = this.alias): this {
    this.network = network;
    this.alias = alias;
    return this;
  }

  withLabels(labels: Record<string, string>): this {
    this.labels = { ...this.labels, ...labels };
    return this;
  }

  /** More broker settings, as the image takes them (KAFKA_NUM_PARTITIONS=3 is num.partitions=3). */
  withEnvironment(environment: Record<string, string>): this {
    this.environment = { ...this.environment, ...environment };
    return this;
  }

  async start(): Promise<StartedApacheKafkaContainer> {
    const ownNetwork = this.network === undefined;
    const network = this.network ?? (await new Network().start());
    const hostPort = await freeLoopbackPort();
    try {
      const container = await new GenericContainer(this.image)
        .withNetwork(network)
        .withNetworkAliases(this.alias)
        .withLabels(this.labels)
        // The host port is fixed before start: the broker advertises it, and keeps it across docker stop/start.
        .withExposedPorts({ container: HOST_LISTENER_PORT, host: hostPort })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENERS: `HOST://0.0.0.0:${HOST_LISTENER_PORT},INTERNAL://0.0.0.0:${INTERNAL_LISTENER_PORT},CONTROLLER://localhost:9093`,
          KAFKA_ADVERTISED_LISTENERS: `HOST://127.0.0.1:${hostPort},INTERNAL://${this.alias}:${INTERNAL_LISTENER_PORT}`,
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'HOST:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
          KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          // One node in a test: few partitions for the internal topics start faster, few threads suit small machines.
          KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '3',
          KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '3',
          KAFKA_NUM_NETWORK_THREADS: '2',
          KAFKA_NUM_IO_THREADS: '4',
          KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
          ...this.environment,
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(120_000)
        .start();
      return new StartedApacheKafkaContainer(
        container,
        network,
        ownNetwork,
        hostPort,
        `${this.alias}:${INTERNAL_LISTENER_PORT}`,
      );
    } catch (error) {
      if (ownNetwork) await network.stop().catch(() => undefined);
      throw error;
    }
  }
}

export class StartedApacheKafkaContainer {
  constructor(
    readonly container: StartedTestContainer,
    readonly network: StartedNetwork,
    private readonly ownNetwork: boolean,
    private readonly hostPort: number,
    private readonly internal: string,
  ) {}

  /** From this machine. */
  getBootstrapServers(): string {
    return `127.0.0.1:${this.hostPort}`;
  }

  /** From containers on `network`. */
  getInternalBootstrapServers(): string {
    return this.internal;
  }

  getId(): string {
    return this.container.getId();
  }

  async stop(): Promise<void> {
    await this.container.stop({ remove: true, removeVolumes: true });
    if (this.ownNetwork) await this.network.stop();
  }
}
