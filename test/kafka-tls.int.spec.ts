/**
 * Kafka over TLS and SASL (docs/kafka.md), for real: a KRaft broker of this suite's own
 * (scripts/kafka/kafka.mjs startBroker) with a SASL_SSL listener — its certificate from a CA this test makes with
 * openssl, client certificates required, SCRAM users created when the storage is formatted, a PLAIN user in the
 * listener's JAAS — and the authorizer on: the service's principal holds exactly the ACLs docs/kafka.md lists.
 *
 * The real service process, configured with KAFKA_SSL* and KAFKA_SASL*, fans an end made over HTTP out to
 * contact.outcomes, answers a command on contact.commands (and dead-letters a malformed one); fanout:republish
 * sends outcomes again with the same settings; each SASL mechanism connects. A wrong password, a CA that did not
 * sign the broker's certificate, and a missing client certificate each stop the start (exit 1, as an unreachable
 * broker does), saying which. The test's own clients are a PLAIN super user with a client certificate.
 *
 * Skips (printing SKIPPED with the reason) only when this machine cannot run the broker: no openssl, no java, the
 * jars not fetchable, or KAFKA_LOCAL=0; KAFKA_REQUIRED=1 turns that into a failure.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, Kafka as KafkaClient, KafkaConfig, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { kafkaClientConfig } from '../apps/orchestrator/src/kafka/kafka-client-config.js';
import { startBroker, type OwnBroker } from '../scripts/kafka/kafka.mjs';
import { OrchestratorClient } from './harness/client.js';
import { MAIN, removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';
import { printSkip } from './harness/skip.js';
import { waitFor } from './harness/suites.js';
import { issue, makeCa, opensslMissing, type Pem } from './harness/tls.js';

const {
  Kafka,
  logLevel,
  Partitioners,
  AclResourceTypes: R,
  AclOperationTypes: Op,
  AclPermissionTypes,
  ResourcePatternTypes: P,
} = kafkajs;
const SUITE = 'kafka TLS+SASL';
const REPUBLISH = join(MAIN, '../../../../scripts/republish-outcomes.js');
const WAIT_MS = 30_000;

const TOPICS = {
  outcomes: 'contact.outcomes',
  checkpoints: 'contact.outcomes.checkpoints',
  commands: 'contact.commands',
  results: 'contact.command-results',
  deadLetter: 'contact.commands.dlq',
};
const FORWARDER_ID = `contact-orchestrator.${TOPICS.outcomes}`;
const SERVICE_USER = 'orchestrator';

/**
 * The ACLs of the service's principal, as docs/kafka.md lists them (defaults of the topic names, KAFKA_FORWARDER_ID
 * and the consumer group): nothing more is granted, so the service working here shows they are enough.
 */
const SERVICE_ACLS: Array<[type: number, name: string, pattern: number, operation: number]> = [
  // The topic admin at start (and the forwarder's): creates the topics when missing (without: an operator does).
  ...Object.values(TOPICS).map((topic): [number, string, number, number] => [R.TOPIC, topic, P.LITERAL, Op.CREATE]),
  // The EndContact commands consumer and its producer.
  [R.GROUP, `contact-orchestrator:${TOPICS.commands}`, P.LITERAL, Op.READ],
  [R.TOPIC, TOPICS.commands, P.LITERAL, Op.READ],
  [R.TOPIC, TOPICS.results, P.LITERAL, Op.WRITE],
  [R.TOPIC, TOPICS.deadLetter, P.LITERAL, Op.WRITE],
  // The outcome forwarder: transactions under its ID, outcomes and checkpoint written, checkpoint read back.
  [R.TRANSACTIONAL_ID, FORWARDER_ID, P.LITERAL, Op.WRITE],
  [R.TOPIC, TOPICS.outcomes, P.LITERAL, Op.WRITE],
  [R.TOPIC, TOPICS.checkpoints, P.LITERAL, Op.WRITE],
  [R.TOPIC, TOPICS.checkpoints, P.LITERAL, Op.READ],
  [R.GROUP, 'checkpoint-reader-', P.PREFIXED, Op.READ],
  [R.GROUP, `${FORWARDER_ID}.lease`, P.LITERAL, Op.READ],
  [R.TOPIC, TOPICS.checkpoints, P.LITERAL, Op.DESCRIBE_CONFIGS],
  // npm run fanout:republish.
  [R.TRANSACTIONAL_ID, `${FORWARDER_ID}.republish`, P.LITERAL, Op.WRITE],
];

type Setup = {
  broker: OwnBroker;
  dir: string;
  ca: Pem;
  otherCa: Pem;
  serviceCert: Pem;
  testCert: Pem;
  passwords: Record<string, string>;
};
type Received = { topic: string; key: string | undefined; value: string; headers: Record<string, string> };

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The broker and certificates, or why this machine cannot run them. Any other failure fails the suite. */
async function setUp(): Promise<Setup | { skip: string }> {
  const missing =
    opensslMissing() ?? (onPath('java') ? undefined : 'java is not on PATH (the local KRaft broker needs Java 17)');
  if (missing) return { skip: missing };
  if (process.env.KAFKA_LOCAL === '0') return { skip: 'the local KRaft broker is disabled by KAFKA_LOCAL=0' };
  const dir = mkdtempSync(join(tmpdir(), 'co-kafka-tls-'));
  try {
    const ca = makeCa(dir, 'test-ca');
    const otherCa = makeCa(dir, 'other-ca');
    const brokerCert = issue(ca, dir, 'broker', 'server');
    const passwords = {
      [SERVICE_USER]: randomBytes(18).toString('hex'),
      'auditor-512': randomBytes(18).toString('hex'),
      admin: randomBytes(18).toString('hex'),
    };
    const broker = await startBroker({
      saslSsl: {
        certificateChain: brokerCert.certFile,
        key: brokerCert.keyFile,
        truststore: ca.certFile,
        clientAuth: 'required',
        scram: [
          { mechanism: 'SCRAM-SHA-256', name: SERVICE_USER, password: passwords[SERVICE_USER] },
          { mechanism: 'SCRAM-SHA-512', name: 'auditor-512', password: passwords['auditor-512'] },
        ],
        plain: { admin: passwords['admin'] },
        superUsers: ['admin'],
      },
    });
    return {
      broker,
      dir,
      ca,
      otherCa,
      serviceCert: issue(ca, dir, 'orchestrator-client', 'client'),
      testCert: issue(ca, dir, 'test-client', 'client'),
      passwords,
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const message = (error as Error).message;
    // The jars come from Maven Central on first use: no Maven, or no way to reach it, is this machine's.
    if (/^mvn failed/.test(message)) return { skip: `the Kafka jars could not be fetched: ${message.split('\n')[0]}` };
    throw error;
  }
}

const setup = await setUp();
if ('skip' in setup) {
  if (process.env.KAFKA_REQUIRED === '1') throw new Error(`KAFKA_REQUIRED=1 but ${SUITE} cannot run: ${setup.skip}`);
  printSkip(SUITE, setup.skip);
  describe.skip(`${SUITE} (skipped: ${setup.skip})`, () =>
    it('needs a local KRaft broker with a SASL_SSL listener', () => {}));
} else {
  const { broker, dir, ca, otherCa, serviceCert, testCert, passwords } = setup;
  const secret = (name: string, value: string): string => {
    const file = join(dir, name);
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return file;
  };
  const passwordFile = secret('orchestrator.password', passwords[SERVICE_USER]!);
  const wrongPassword = `wrong-${randomBytes(9).toString('hex')}`;
  const serviceEnv: Record<string, string> = {
    KAFKA_BROKERS: broker.secureBrokers.join(','),
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: ca.certFile,
    KAFKA_SSL_CERT_FILE: serviceCert.certFile,
    KAFKA_SSL_KEY_FILE: serviceCert.keyFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-256',
    KAFKA_SASL_USERNAME: SERVICE_USER,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
  };
  /** The test's clients: kafkajs as a user would write it (not the code under test), PLAIN super user `admin`. */
  const testClient: KafkaConfig = {
    clientId: 'kafka-tls-int',
    brokers: broker.secureBrokers,
    ssl: { ca: ca.cert, cert: testCert.cert, key: testCert.key },
    sasl: { mechanism: 'plain', username: 'admin', password: passwords['admin']! },
    logLevel: logLevel.NOTHING,
  };
  const received: Received[] = [];
  const dataDirs: string[] = [];
  let kafka: KafkaClient;
  let admin: Admin;
  let producer: Producer | undefined;
  let reader: Consumer | undefined;
  let service: ServiceProcess | undefined;
  let api: OrchestratorClient;
  let bu: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;

  /** A start that must fail: the harness's error carries the exit code and the whole output. */
  const failedStart = async (env: Record<string, string>): Promise<string> => {
    const dataDir = tempDataDir('co-kafka-tls-');
    dataDirs.push(dataDir);
    const started = await startServiceProcess({ dataDir, env: { ...serviceEnv, ...env } }).then(
      async (running) => {
        await running.stop();
        return undefined;
      },
      (error: Error) => error.message,
    );
    if (started === undefined) throw new Error('the service started');
    return started;
  };
  const record = (topic: string, key: string) =>
    waitFor(
      () => received.find((r) => r.topic === topic && r.key === key),
      WAIT_MS,
      `a record keyed ${key} on ${topic}`,
    );

  describe(`${SUITE} (own KRaft broker, SASL_SSL on ${broker.secureBrokers.join(',')}, authorizer on)`, () => {
    beforeAll(async () => {
      kafka = new Kafka(testClient);
      admin = kafka.admin();
      await admin.connect();
      await admin.createAcls({
        acl: SERVICE_ACLS.map(([resourceType, resourceName, resourcePatternType, operation]) => ({
          resourceType,
          resourceName,
          resourcePatternType,
          principal: `User:${SERVICE_USER}`,
          host: '*',
          operation,
          permissionType: AclPermissionTypes.ALLOW,
        })),
      });
      const dataDir = tempDataDir('co-kafka-tls-');
      dataDirs.push(dataDir);
      service = await startServiceProcess({ dataDir, env: serviceEnv });
      api = new OrchestratorClient(service.url, service.platformToken);
      await waitFor(
        () => /EndContact commands consumer joined group/.test(service!.output()),
        WAIT_MS,
        'the commands consumer to join its group',
      );
      // The forwarder creates its topics before it runs; the reader subscribes once they exist.
      const fanoutState = async () =>
        (await api.request<{ details: { fanout: { state: string; lastError?: string } } }>('GET', '/health')).body
          .details.fanout;
      await waitFor(
        async () => ((await fanoutState()).state === 'running' ? true : undefined),
        WAIT_MS,
        'the outcome forwarder running',
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(await fanoutState())}\n${service!.output().slice(-4_000)}`);
      });
      bu = await api.seedBusinessUnit('tls-bu');
      producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      reader = kafka.consumer({ groupId: `tls-reader-${randomUUID()}`, readUncommitted: false });
      await reader.connect();
      await reader.subscribe({ topics: [TOPICS.outcomes, TOPICS.results, TOPICS.deadLetter], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ topic, message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {}))
            headers[name] = String(Array.isArray(value) ? value[0] : value);
          received.push({ topic, key: message.key?.toString(), value: message.value?.toString() ?? '', headers });
        },
      });
    }, 180_000);

    afterAll(async () => {
      await reader?.disconnect().catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
      await admin?.disconnect().catch(() => undefined);
      const code = await service?.stop();
      for (const dataDir of dataDirs) removeDataDir(dataDir);
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
      expect(code, 'a graceful stop').toBe(0);
    }, 60_000);

    it('an end over HTTP reaches contact.outcomes (read over TLS+SASL, read_committed)', async () => {
      const contactId = await api.startContact('tls-bu', 'Phone');
      const answer = await api.endContact(contactId, bu.ender);
      expect(answer.status).toBe(200);
      const outcome = await record(TOPICS.outcomes, contactId);
      expect(JSON.parse(outcome.value)).toMatchObject({
        type: 'ContactEnded',
        data: { contactId },
        position: answer.body.position,
      });
      expect(outcome.headers['event-type']).toBe('ContactEnded');
    });

    it('a command on contact.commands gets its result; a malformed one is dead-lettered', async () => {
      const contactId = await api.startContact('tls-bu', 'Chat');
      const commandId = `cmd-${randomUUID()}`;
      await producer!.send({
        topic: TOPICS.commands,
        messages: [{ key: commandId, value: JSON.stringify({ commandId, contactId, securityUser: bu.ender }) }],
      });
      expect(JSON.parse((await record(TOPICS.results, commandId)).value)).toMatchObject({
        commandId,
        contactId,
        branch: 'OnSuccess',
      });
      expect(JSON.parse((await record(TOPICS.outcomes, contactId)).value)).toMatchObject({
        type: 'ContactEnded',
        metadata: { source: 'kafka', commandId },
      });
      const broken = `broken-${randomUUID()}`;
      await producer!.send({ topic: TOPICS.commands, messages: [{ key: broken, value: '{not json' }] });
      expect(JSON.parse((await record(TOPICS.results, broken)).value)).toMatchObject({
        branch: 'Default',
        error: { code: 'InvalidCommand' },
      });
      expect((await record(TOPICS.deadLetter, broken)).value).toBe('{not json');
    });

    it('/health: the consumer consuming and the forwarder running; the password nowhere in the output', async () => {
      const health = await api.request<{ details: { kafkaCommands: { state: string }; fanout: { state: string } } }>(
        'GET',
        '/health',
      );
      expect(health.status).toBe(200);
      expect(health.body.details).toMatchObject({
        kafkaCommands: { state: 'consuming' },
        fanout: { state: 'running' },
      });
      const output = service!.output();
      expect(output).toMatch(/"security":\{"tls":true,"sasl":"scram-sha-256","username":"orchestrator"\}/);
      expect(output).not.toContain(passwords[SERVICE_USER]);
    });

    it('fanout:republish sends outcomes again with the same TLS and SASL settings', async () => {
      const ended = received.filter((r) => r.topic === TOPICS.outcomes);
      const last = ended
        .map((r) => BigInt((JSON.parse(r.value) as { position: string }).position))
        .reduce((a, b) => (a > b ? a : b));
      const env = { PATH: process.env.PATH ?? '', DATA_DIR: service!.dataDir, ...serviceEnv };
      const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
        execFile(
          process.execPath,
          [REPUBLISH, '--from', '1', '--to', String(last)],
          { env, timeout: 60_000 },
          (error: ExecFileException | null, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
        ),
      );
      expect(stdout, stderr).toMatch(
        new RegExp(`^republished ${ended.length} outcomes of positions 1\\.\\.${last} to ${TOPICS.outcomes}`),
      );
      await waitFor(
        () => received.filter((r) => r.topic === TOPICS.outcomes).length >= 2 * ended.length,
        WAIT_MS,
        'every outcome a second time',
      );
      expect(`${stdout}${stderr}`).not.toContain(passwords[SERVICE_USER]);
    }, 90_000);

    it.each([
      ['PLAIN', 'plain', 'admin'],
      ['SCRAM-SHA-256', 'scram-sha-256', SERVICE_USER],
      ['SCRAM-SHA-512', 'scram-sha-512', 'auditor-512'],
    ])('kafkaClientConfig connects with SASL %s over TLS', async (_name, mechanism, username) => {
      const config = loadConfiguration({
        ...serviceEnv,
        KAFKA_SASL_MECHANISM: mechanism,
        KAFKA_SASL_USERNAME: username,
        KAFKA_SASL_PASSWORD_FILE: secret(`${username}.password`, passwords[username]!),
      });
      const client = new Kafka(
        kafkaClientConfig(config, 'kafka-tls-int-config', { logLevel: logLevel.NOTHING, retry: { retries: 0 } }),
      ).admin();
      await client.connect();
      try {
        expect((await client.describeCluster()).brokers).toEqual([
          { nodeId: 1, host: '127.0.0.1', port: Number(broker.secureBrokers[0]!.split(':')[1]) },
        ]);
      } finally {
        await client.disconnect();
      }
    });

    describe('a start the broker refuses stops the service (exit 1), saying why', () => {
      it('a wrong password: the SASL authentication, naming the user and the password file, never the password', async () => {
        const output = await failedStart({ KAFKA_SASL_PASSWORD_FILE: secret('wrong.password', wrongPassword) });
        expect(output).toMatch(/^service exited with 1 before listening/);
        expect(output).toContain(
          `contact-orchestrator failed to start: Kafka at KAFKA_BROKERS=${broker.secureBrokers[0]} refused the SASL authentication of KAFKA_SASL_USERNAME=orchestrator with KAFKA_SASL_MECHANISM=scram-sha-256 and the password of KAFKA_SASL_PASSWORD_FILE`,
        );
        expect(output).not.toContain(wrongPassword);
        expect(output).not.toContain(passwords[SERVICE_USER]);
      }, 60_000);

      it('a CA that did not sign the broker certificate: not trusted, naming KAFKA_SSL_CA_FILE', async () => {
        const output = await failedStart({ KAFKA_SSL_CA_FILE: otherCa.certFile });
        expect(output).toMatch(/^service exited with 1 before listening/);
        expect(output).toMatch(
          new RegExp(
            `contact-orchestrator failed to start: Kafka at KAFKA_BROKERS=${broker.secureBrokers[0]}: the broker's TLS certificate is not trusted by the CA of KAFKA_SSL_CA_FILE=${otherCa.certFile} \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\)`,
          ),
        );
      }, 60_000);

      it('no client certificate where the broker requires one: the handshake refused, saying none was given', async () => {
        // Empty counts as unset (configuration.ts).
        const output = await failedStart({ KAFKA_SSL_CERT_FILE: '', KAFKA_SSL_KEY_FILE: '' });
        expect(output).toMatch(/^service exited with 1 before listening/);
        expect(output).toMatch(
          new RegExp(
            `contact-orchestrator failed to start: Kafka at KAFKA_BROKERS=${broker.secureBrokers[0]} refused the TLS handshake \\((ERR_SSL_\\w+_ALERT_\\w+|TLS alert [a-z ]+)\\): no client certificate: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE are not set, and the broker requires one`,
          ),
        );
      }, 60_000);
    });
  });
}
