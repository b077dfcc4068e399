/**
 * docker-compose.yml run for real (the file checked without Docker: docker-compose.unit.spec.ts): the profiles
 * `embedded` (Kafka and the orchestrator on its own store, no EventStoreDB) and `postgres` (Kafka, PostgreSQL 17 and
 * three orchestrator replicas on it) are each built and started by `docker compose` under a project name of its own,
 * on free loopback ports and generated secrets; /health answers on every replica, a contact ended over HTTP reaches
 * the outcomes topic as ContactEnded once, read from this machine with kafkajs (and, on PostgreSQL, shows Ended on
 * every replica, one of which forwards); `down -v` removes it all. Every container, volume and network carries org.contact-orchestrator.test-run=<CO_TEST_RUN or manual>.
 * Skipped, with the reason printed, where no Docker engine answers or `docker compose` is not v2 or later
 * (`npm run containers:compose` builds one).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadToolConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { OrchestratorClient } from './harness/client.js';
import { freePort } from './harness/service.js';
import { printSkip } from './harness/skip.js';
import { waitFor } from './harness/suites.js';

const { Kafka, logLevel } = kafkajs;
const execFileAsync = promisify(execFile);
const SUITE = 'docker compose';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MINUTE = 60_000;
const TEST_RUN_LABEL = 'org.contact-orchestrator.test-run';
const testRun = process.env.CO_TEST_RUN?.trim() || 'manual';

type Outcome = { eventId: string; type: string; position: string; streamId: string; data: { contactId: string } };

/** Whether an engine answers and `docker compose` is v2 or later; the reason when not. */
async function probeCompose(): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  const firstLine = (error: unknown): string =>
    ((error as { stderr?: string }).stderr?.trim() || (error as Error).message).split('\n')[0]!;
  try {
    await execFileAsync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 15_000 });
  } catch (error) {
    return { ok: false, reason: `no Docker engine answers \`docker version\`: ${firstLine(error)}` };
  }
  let version: string;
  try {
    version = (await execFileAsync('docker', ['compose', 'version', '--short'], { timeout: 15_000 })).stdout
      .trim()
      .replace(/^v/, '');
  } catch (error) {
    return {
      ok: false,
      reason: `\`docker compose version\` does not answer (npm run containers:compose builds the plugin): ${firstLine(error)}`,
    };
  }
  const major = Number(/^(\d+)\./.exec(version)?.[1]);
  if (!(major >= 2))
    return {
      ok: false,
      reason: `\`docker compose version\` answers ${version}, not v2 or later (npm run containers:compose)`,
    };
  return { ok: true, version };
}

/** Three consecutive free loopback ports (a replica's range), the first of them returned. */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await freePort();
    if (first + count > 65_535) continue;
    const free = await Promise.all(Array.from({ length: count - 1 }, (_, i) => isFree(first + i + 1)));
    if (free.every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

type Profile = {
  name: 'embedded' | 'postgres';
  /** The orchestrator service `up` names (the profile's other services come as its dependencies). */
  service: string;
  /** Every service that runs, one entry per container, sorted. */
  containers: string[];
  replicas: number;
};

const PROFILES: Profile[] = [
  { name: 'embedded', service: 'orchestrator-embedded', containers: ['kafka', 'orchestrator-embedded'], replicas: 1 },
  {
    name: 'postgres',
    service: 'orchestrator-postgres',
    containers: ['kafka', 'orchestrator-postgres', 'orchestrator-postgres', 'orchestrator-postgres', 'postgres'],
    replicas: 3,
  },
];

const probe = await probeCompose();
if (!probe.ok) {
  printSkip(SUITE, probe.reason);
  describe.skip(`${SUITE} (skipped: ${probe.reason})`, () =>
    it('needs a Docker engine and docker compose v2', () => {}));
} else {
  for (const profile of PROFILES) composeSuite(profile, probe.version);
}

function composeSuite(profile: Profile, version: string): void {
  describe(`${SUITE}, profile ${profile.name}`, () => {
    const project = `co-test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const scratch = mkdtempSync(join(tmpdir(), 'co-compose-'));
    const labelsFile = join(scratch, 'labels.yml');
    const platformToken = randomBytes(32).toString('base64url');
    const outcomesTopic = loadToolConfiguration({}).topics.outcomes;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PLATFORM_TOKEN: platformToken,
      SECURITY_USER_SIGNING_KEYS: `k1:${randomBytes(32).toString('base64url')}`,
      POSTGRES_PASSWORD: randomBytes(16).toString('hex'),
      // No buildx here: compose builds with the engine's classic builder.
      DOCKER_BUILDKIT: '0',
      COMPOSE_DOCKER_CLI_BUILD: '0',
    };
    const compose = [
      'compose',
      '--project-name',
      project,
      '--project-directory',
      ROOT,
      '-f',
      join(ROOT, 'docker-compose.yml'),
      '-f',
      labelsFile,
      '--profile',
      profile.name,
    ];
    let consumer: Consumer | undefined;
    let api: OrchestratorClient;
    let kafkaPort: number;
    let orchestratorPort: number;
    /** One client per replica, on its published port. */
    let apis: OrchestratorClient[];
    const started = Date.now();

    /** `docker compose …` of this project; output kept in a log under the scratch folder, its tail thrown on failure. */
    const run = (args: string[], timeoutMs: number): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn('docker', [...compose, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        const keep = (chunk: Buffer): void => {
          output += chunk.toString();
          if (output.length > 4 << 20) output = output.slice(-(2 << 20));
        };
        child.stdout.on('data', keep);
        child.stderr.on('data', keep);
        const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.once('close', (code, signal) => {
          clearTimeout(timer);
          writeFileSync(join(scratch, `compose-${args[0]}.log`), output);
          if (code === 0) resolve(output);
          else
            reject(
              new Error(
                `docker compose ${args.join(' ')} ended with ${code ?? signal}:\n${output.split('\n').slice(-60).join('\n')}`,
              ),
            );
        });
      });

    beforeAll(async () => {
      orchestratorPort = profile.replicas > 1 ? await freeRange(profile.replicas) : await freePort();
      kafkaPort = await freePort();
      env.ORCHESTRATOR_HOST_PORT = String(orchestratorPort);
      env.ORCHESTRATOR_POSTGRES_HOST_PORTS = `${orchestratorPort}-${orchestratorPort + profile.replicas - 1}`;
      env.KAFKA_HOST_PORT = String(kafkaPort);
      env.EVENTSTORE_HOST_PORT = String(await freePort());
      // Every service, volume and network of the file gets the test-run label, so a global teardown can find leftovers.
      const document = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
        services: object;
        volumes?: object;
      };
      const labels = { [TEST_RUN_LABEL]: testRun };
      writeFileSync(
        labelsFile,
        stringify({
          services: Object.fromEntries(Object.keys(document.services).map((name) => [name, { labels }])),
          volumes: Object.fromEntries(Object.keys(document.volumes ?? {}).map((name) => [name, { labels }])),
          networks: { default: { labels } },
        }),
      );
      try {
        // One build of contact-orchestrator:local (the classic builder's cache makes an unchanged context quick).
        await run(['up', '--build', '--detach', '--wait', '--wait-timeout', '600', profile.service], 40 * MINUTE);
      } catch (error) {
        const logs = await run(['logs', '--no-color', '--tail', '80'], MINUTE).catch((e: Error) => e.message);
        throw new Error(`${(error as Error).message}\n--- docker compose logs ---\n${logs}`);
      }
      console.info(
        `docker compose (${version}) up --build --wait, project ${project}: ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      apis = Array.from(
        { length: profile.replicas },
        (_, i) => new OrchestratorClient(`http://127.0.0.1:${orchestratorPort + i}`, platformToken),
      );
      api = apis[0]!;
    }, 45 * MINUTE);

    afterAll(async () => {
      await consumer?.disconnect().catch(() => undefined);
      try {
        await run(['down', '--volumes', '--remove-orphans', '--timeout', '10'], 5 * MINUTE);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
        console.info(`docker compose test, up to down: ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    }, 6 * MINUTE);

    it(`starts ${[...new Set(profile.containers)].join(', ')} only (no EventStoreDB), each labelled with the test run`, async () => {
      const { stdout } = await execFileAsync('docker', [
        'ps',
        '--all',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--format',
        `{{.Label "com.docker.compose.service"}} {{.Label "${TEST_RUN_LABEL}"}} {{.State}}`,
      ]);
      const containers = stdout.trim().split('\n').sort();
      expect(containers).toEqual(profile.containers.map((service) => `${service} ${testRun} running`));
    });

    it(`answers /health 200 on ${profile.replicas > 1 ? "each replica's" : 'the'} published loopback port, on its ${profile.name} store`, async () => {
      for (const replica of apis) {
        // Anonymous: the status alone, as a load balancer or the compose healthcheck reads it.
        const anonymous = await fetch(`${replica.url}/health`);
        expect(anonymous.status).toBe(200);
        expect(await anonymous.json()).toEqual({ status: 'ok' });
        // With the platform token: the details.
        const { status, body } = await replica.request<{
          status?: string;
          info?: Record<string, { status?: string }>;
        }>('GET', '/health');
        expect(status, JSON.stringify(body)).toBe(200);
        expect(body.info?.eventStore?.status).toBe('up');
      }
    });

    it(
      'ends a contact over HTTP, and its ContactEnded reaches the outcomes topic, read from this machine',
      async () => {
        const bu = await api.seedBusinessUnit('compose-bu');
        const contactId = await api.startContact('compose-bu', 'Phone');
        const answer = await api.endContact(contactId, bu.ender);
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(answer.body).toMatchObject({ contactId, branch: 'OnSuccess' });

        // The broker advertises 127.0.0.1:<KAFKA_HOST_PORT> to host clients: the port compose published.
        const kafka = new Kafka({
          clientId: `${project}-reader`,
          brokers: [`127.0.0.1:${kafkaPort}`],
          logLevel: logLevel.NOTHING,
        });
        consumer = kafka.consumer({
          groupId: `${project}-reader`,
          readUncommitted: false,
          allowAutoTopicCreation: false,
        });
        await consumer.connect();
        const received: Array<{ key: string | undefined; outcome: Outcome }> = [];
        // The service creates the topic at start; subscribe once the broker knows it.
        await waitFor(
          () =>
            consumer!.subscribe({ topic: outcomesTopic, fromBeginning: true }).then(
              () => true,
              () => false,
            ),
          60_000,
          `topic ${outcomesTopic}`,
        );
        await consumer.run({
          eachMessage: async ({ message }) => {
            received.push({ key: message.key?.toString(), outcome: JSON.parse(message.value!.toString()) as Outcome });
          },
        });
        const ended = await waitFor(
          () => received.find((r) => r.outcome.data.contactId === contactId && r.outcome.type === 'ContactEnded'),
          120_000,
          `ContactEnded of ${contactId} on ${outcomesTopic}`,
        );
        expect(ended.key).toBe(contactId);
        expect(ended.outcome.position).toBe(answer.body.position);
        if (profile.replicas === 1) return;
        // Replicas share the log: each one's own view shows the end, and exactly one of them forwards outcomes.
        for (const replica of apis)
          await waitFor(
            async () =>
              (await replica.request<{ state?: string }>('GET', `/v1/contacts/${contactId}`)).body.state === 'Ended'
                ? true
                : undefined,
            60_000,
            `${replica.url} to show ${contactId} Ended`,
          );
        const states = await Promise.all(
          apis.map(
            async (replica) =>
              (await replica.request<{ details: { fanout: { state: string } } }>('GET', '/health')).body.details.fanout
                .state,
          ),
        );
        expect(states.sort()).toEqual(['running', 'standby', 'standby']);
        expect(received.filter((r) => r.outcome.data.contactId === contactId)).toHaveLength(1);
      },
      4 * MINUTE,
    );
  });
}
