/**
 * Three orchestrator instances sharing one PostgreSQL log and one Kafka, each with its own views, and the faults the
 * multi-node test inflicts on them: kill one, cut one off from PostgreSQL and connect it again, restart PostgreSQL.
 * Two shapes of the same cluster (test/multi-node.int.spec.ts runs whichever this machine can):
 * - containers: the `postgres:17` image, the apache/kafka image and three orchestrator containers, each its own host;
 *   the cut is `docker network disconnect` from PostgreSQL's network;
 * - processes: a private PostgreSQL server from Debian's package, the Kafka broker the harness resolves, and three
 *   service processes on loopback, each reaching PostgreSQL through a TCP proxy of its own; the cut closes the proxy
 *   and every connection through it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import pg from 'pg';
import { ApacheKafkaContainer, type StartedApacheKafkaContainer } from '#testcontainers';
import { OrchestratorClient } from './client.js';
import { docker, orchestratorImage, runId, runLabels } from './containers.js';
import { resolveKafka } from './kafka.js';
import { runOrchestrator, type OrchestratorContainer } from './orchestrator-container.js';
import { resolvePostgres, type PrivateServer } from './postgres.js';
import { MAIN, startServiceProcess, tempDataDir, type ServiceProcess } from './service.js';
import { waitFor } from './suites.js';

const MINUTE = 60_000;

export interface Cluster {
  readonly shape: string;
  /** The instances' clients, by index (replaced when an instance starts again). */
  readonly apis: OrchestratorClient[];
  /** Kafka as this machine reaches it, and the outcomes topic the instances forward to. */
  readonly brokers: string[];
  readonly outcomesTopic: string;
  kill(i: number): Promise<void>;
  /** Starts a killed instance again on its own views and waits until it is healthy. */
  start(i: number): Promise<void>;
  cutFromPostgres(i: number): Promise<void>;
  reconnectToPostgres(i: number): Promise<void>;
  restartPostgres(): Promise<void>;
  /** Rows of a query on the shared log, each an array of text fields. */
  sql(query: string): Promise<string[][]>;
  /** `views:verify` of one instance: its output (`identical: …` or the differences). */
  verifyViews(i: number): Promise<string>;
  /** The instances' state and last log lines, for whoever reads a red run. */
  dump(): Promise<string>;
  close(): Promise<void>;
}

function kafkaTopics(): { prefix: string; env: Record<string, string> } {
  const prefix = `multi-node.${runId().toLowerCase()}.${randomBytes(3).toString('hex')}`;
  return {
    prefix,
    env: {
      KAFKA_TOPIC_OUTCOMES: `${prefix}.outcomes`,
      KAFKA_TOPIC_CHECKPOINTS: `${prefix}.checkpoints`,
      KAFKA_TOPIC_COMMANDS: `${prefix}.commands`,
      KAFKA_TOPIC_COMMAND_RESULTS: `${prefix}.command-results`,
      KAFKA_TOPIC_DEAD_LETTER: `${prefix}.dlq`,
      RATE_LIMIT_PER_MINUTE: '0',
    },
  };
}

const healthy = (url: string, token: string): Promise<OrchestratorClient> =>
  waitFor(
    async () =>
      (await fetch(`${url}/health`).then(
        (r) => r.status,
        () => 0,
      )) === 200
        ? true
        : undefined,
    2 * MINUTE,
    `${url} to answer /health with 200`,
  ).then(() => new OrchestratorClient(url, token));

/** The cluster on containers: each instance its own host on Kafka's network and PostgreSQL's. */
export async function containerCluster(): Promise<Cluster> {
  const labels = Object.entries(runLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const password = randomBytes(12).toString('hex');
  const token = `multi-node-${randomBytes(6).toString('hex')}-platform-token`;
  const topics = kafkaTopics();
  const nodes: OrchestratorContainer[] = [];
  let kafka: StartedApacheKafkaContainer | undefined;
  let postgres: string | undefined;
  // Named to sort before Kafka's network (a UUID): the engine routes published ports through the first by name, so the
  // cut of an instance from this network always moves its published port (test/harness/orchestrator-container.ts).
  const network = `000-co-multi-node-${runId().toLowerCase()}-${randomBytes(3).toString('hex')}`;
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.remove()));
    if (postgres) await docker(['rm', '--force', '--volumes', postgres]).catch(() => undefined);
    await docker(['network', 'rm', network]).catch(() => undefined);
    await kafka?.stop();
  };
  try {
    const [image] = await Promise.all([
      orchestratorImage(),
      new ApacheKafkaContainer()
        .withLabels(runLabels())
        .start()
        .then((k) => (kafka = k)),
    ]);
    await docker(['network', 'create', ...labels, network]);
    postgres = await docker([
      'run',
      '--detach',
      ...labels,
      ...['--network', network, '--network-alias', 'postgres'],
      ...[
        '--env',
        `POSTGRES_PASSWORD=${password}`,
        '--env',
        'POSTGRES_USER=orchestrator',
        '--env',
        'POSTGRES_DB=contacts',
      ],
      'postgres:17',
    ]);
    const pgReady = (): Promise<true | undefined> =>
      docker([
        'exec',
        postgres!,
        'pg_isready',
        '--host=127.0.0.1',
        '--username=orchestrator',
        '--dbname=contacts',
      ]).then(
        () => true,
        () => undefined,
      );
    await waitFor(pgReady, MINUTE, 'PostgreSQL to accept connections');
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await runOrchestrator(image, {
          network: kafka!.network.getName(),
          alsoOn: [network],
          token,
          args: ['--hostname', `orchestrator-${i + 1}`],
          env: {
            EVENT_STORE: 'postgres',
            POSTGRES_URL: `postgres://orchestrator:${password}@postgres:5432/contacts`,
            KAFKA_BROKERS: kafka!.getInternalBootstrapServers(),
            ...topics.env,
          },
        }),
      );
    }
    const apis = await Promise.all(nodes.map((n) => n.healthy(2 * MINUTE)));
    return {
      shape: 'containers (postgres:17, apache/kafka, three orchestrator containers)',
      apis,
      brokers: [kafka!.getBootstrapServers()],
      outcomesTopic: `${topics.prefix}.outcomes`,
      kill: async (i) => void (await docker(['kill', nodes[i]!.id])),
      start: async (i) => {
        await docker(['start', nodes[i]!.id]);
        apis[i] = await nodes[i]!.healthy(2 * MINUTE);
      },
      cutFromPostgres: async (i) => void (await docker(['network', 'disconnect', network, nodes[i]!.id])),
      reconnectToPostgres: async (i) => void (await docker(['network', 'connect', network, nodes[i]!.id])),
      restartPostgres: async () => {
        await docker(['restart', '--time', '5', postgres!]);
        await waitFor(pgReady, MINUTE, 'PostgreSQL to accept connections again');
      },
      sql: async (query) =>
        (await docker(['exec', postgres!, 'psql', '-U', 'orchestrator', '-d', 'contacts', '-AtF', '|', '-c', query]))
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split('|')),
      verifyViews: (i) =>
        docker(['exec', nodes[i]!.id, 'node', 'dist/scripts/verify-views.js'], 5 * MINUTE).catch(
          (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? String(error)}`,
        ),
      dump: async () => (await Promise.all(nodes.map((n) => n.describe(40)))).join('\n\n'),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A TCP proxy to PostgreSQL for one instance: closing it cuts the instance off, as a network would. */
class Cut {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    private readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      upstream.connect(this.target.port, this.target.host);
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The cluster as three processes on loopback, where no Docker engine runs. */
export async function processCluster(): Promise<Cluster> {
  const postgres = await resolvePostgres();
  if (postgres.kind !== 'ready') throw new Error(`no PostgreSQL for the multi-node test: ${postgres.reason}`);
  const kafka = await resolveKafka();
  if (kafka.kind !== 'ready') throw new Error(`no Kafka for the multi-node test: ${kafka.reason}`);
  const server: PrivateServer | undefined = postgres.server;
  const url = new URL(await postgres.database('multinode'));
  const token = `multi-node-${randomBytes(6).toString('hex')}-platform-token`;
  const topics = kafkaTopics();
  const cuts: Cut[] = [];
  const processes: ServiceProcess[] = [];
  const dirs = [0, 1, 2].map(() => tempDataDir('co-multi-node-'));
  const envOf = (i: number): Record<string, string> => {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(cutPorts[i]);
    return {
      EVENT_STORE: 'postgres',
      POSTGRES_URL: proxied.toString(),
      KAFKA_BROKERS: kafka.brokers.join(','),
      ...topics.env,
    };
  };
  const cutPorts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    cutPorts.push((probe.address() as { port: number }).port);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const cut = new Cut(cutPorts[i]!, { host: url.hostname, port: Number(url.port || 5432) });
    await cut.open();
    cuts.push(cut);
  }
  const start = async (i: number): Promise<OrchestratorClient> => {
    processes[i] = await startServiceProcess({ dataDir: dirs[i]!, platformToken: token, env: envOf(i) });
    return healthy(processes[i].url, token);
  };
  const close = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p?.stop().catch(() => undefined)));
    await Promise.all(cuts.map((c) => c.close()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await kafka.stop();
  };
  try {
    const apis: OrchestratorClient[] = [];
    for (let i = 0; i < 3; i++) apis.push(await start(i));
    const query = async (text: string): Promise<string[][]> => {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        const result = await client.query({ text, rowMode: 'array' });
        return (result.rows as unknown[][]).map((row) => row.map((v) => String(v)));
      } finally {
        await client.end();
      }
    };
    return {
      shape: `three processes on loopback, PostgreSQL ${postgres.source}, Kafka ${kafka.source}`,
      apis,
      brokers: kafka.brokers,
      outcomesTopic: `${topics.prefix}.outcomes`,
      kill: (i) => processes[i]!.kill(),
      start: async (i) => void (apis[i] = await start(i)),
      cutFromPostgres: (i) => cuts[i]!.close(),
      reconnectToPostgres: (i) => cuts[i]!.open(),
      restartPostgres: async () => {
        if (!server) throw new Error('PostgreSQL is borrowed (POSTGRES_URL): the test cannot restart it');
        await server.stop();
        await server.start();
      },
      sql: query,
      verifyViews: (i) =>
        new Promise((resolve) => {
          const child = spawn(
            process.execPath,
            [MAIN.replace(/apps\/orchestrator\/src\/main\.js$/, 'scripts/verify-views.js')],
            {
              env: { PATH: process.env.PATH ?? '', DATA_DIR: dirs[i]!, PLATFORM_TOKEN: token, ...envOf(i) },
            },
          );
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.on('exit', () => resolve(output));
        }),
      dump: async () => processes.map((p, i) => `instance ${i + 1}:\n${p?.output().slice(-4_000) ?? ''}`).join('\n\n'),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
