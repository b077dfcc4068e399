/**
 * Faults that container users meet, on the image and the apache/kafka image: `docker kill` of the orchestrator in the
 * middle of a load (no acknowledged end lost, Kafka still exactly once), `docker pause` of Kafka for 30 s (ends keep
 * answering, /health says the fan-out is degraded, the forwarder catches up), and two orchestrator containers on one
 * volume (exactly one end per contact under races).
 */
import Database from 'better-sqlite3';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, vi } from 'vitest';
import { ApacheKafkaContainer, type StartedApacheKafkaContainer } from '#testcontainers';
import type { OrchestratorClient } from './harness/client.js';
import { docker, dockerEngine, orchestratorImage, runLabels } from './harness/containers.js';
import { runOrchestrator, type OrchestratorContainer } from './harness/orchestrator-container.js';
import { printSkip } from './harness/skip.js';

/** The image's `node` user, who runs the service. */
const NODE_UID = 1000;

const { Kafka, logLevel } = kafkajs;
const SUITE = 'container faults';
const MINUTE = 60_000;
const engine = await dockerEngine();
if (!engine.ok) printSkip(SUITE, engine.reason);

type Outcome = { eventId: string; type: string; data: { contactId: string } };
type Health = { details: { fanout: { state: string; lag?: number; checkpoint?: string } } };

describe.skipIf(!engine.ok)(SUITE, () => {
  let image: string;
  let kafka: StartedApacheKafkaContainer;
  const containers: OrchestratorContainer[] = [];
  const dataDirs: string[] = [];
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    image = await orchestratorImage();
    kafka = await new ApacheKafkaContainer().withLabels(runLabels()).start();
  }, 35 * MINUTE);

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    await Promise.all(containers.map((c) => c.remove()));
    await kafka?.stop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A host folder mounted as /data, owned by the image's node user (uid 1000) as the service demands of its DATA_DIR
   * (a folder of another owner is refused, exit 78); the test, as root, still reads the log itself.
   */
  const dataDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'co-container-'));
    chmodSync(dir, 0o700);
    chownSync(dir, NODE_UID, NODE_UID);
    dataDirs.push(dir);
    return dir;
  };

  /** An orchestrator on Kafka's network with topics of its own (or, with `name` undefined, without Kafka). */
  const orchestrator = async (
    name: string | undefined,
    dir: string,
    token?: string,
  ): Promise<OrchestratorContainer> => {
    // A red run says what became of the service: exited (with its code), OOM-killed, or still running, and its log.
    onTestFailed(async () => console.error(await container.describe()));
    const fanout: Record<string, string> =
      name === undefined
        ? { RATE_LIMIT_PER_MINUTE: '0' }
        : {
            KAFKA_BROKERS: kafka.getInternalBootstrapServers(),
            KAFKA_TOPIC_OUTCOMES: `faults.${name}.outcomes`,
            KAFKA_TOPIC_CHECKPOINTS: `faults.${name}.checkpoints`,
            KAFKA_TOPIC_COMMANDS: `faults.${name}.commands`,
            KAFKA_TOPIC_COMMAND_RESULTS: `faults.${name}.command-results`,
            KAFKA_TOPIC_DEAD_LETTER: `faults.${name}.dlq`,
            RATE_LIMIT_PER_MINUTE: '0',
          };
    const container = await runOrchestrator(image, {
      network: kafka.network.getName(),
      args: ['--volume', `${dir}:/data`],
      ...(token !== undefined ? { token } : {}),
      env: fanout,
    });
    containers.push(container);
    return container;
  };

  /**
   * Every record the topic shows to a read_committed consumer, by partition and offset: a consumer may be handed a
   * record twice (after a rebalance it resumes from its last committed offset); the topic holding one twice is what
   * exactly once forbids.
   */
  const follow = async (topic: string): Promise<Map<string, Outcome>> => {
    const received = new Map<string, Outcome>();
    const consumer = new Kafka({ brokers: [kafka.getBootstrapServers()], logLevel: logLevel.NOTHING }).consumer({
      groupId: `${topic}.reader`,
      readUncommitted: false,
    });
    consumers.push(consumer);
    await consumer.connect();
    await vi.waitFor(() => consumer.subscribe({ topic, fromBeginning: true }), { timeout: 30_000, interval: 200 });
    await consumer.run({
      eachMessage: async ({ partition, message }) =>
        void received.set(`${partition}:${message.offset}`, JSON.parse(message.value!.toString()) as Outcome),
    });
    return received;
  };

  /** The outcomes in the log, read from the mounted volume. */
  const storedOutcomes = (dir: string): Array<{ id: string; position: number }> => {
    const db = new Database(join(dir, 'events.db'), { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare(
          `SELECT event_id AS id, position FROM events WHERE type IN ('ContactEnded','EndContactRejected') ORDER BY position`,
        )
        .all() as Array<{ id: string; position: number }>;
    } finally {
      db.close();
    }
  };

  /** Once the forwarder has committed the last stored outcome: the topic holds each stored outcome once, nothing else. */
  const expectExactlyOnce = async (
    api: OrchestratorClient,
    dir: string,
    records: Map<string, Outcome>,
  ): Promise<number> => {
    const received = (): Outcome[] => [...records.values()];
    const stored = storedOutcomes(dir);
    const last = String(stored.at(-1)!.position);
    let seen: unknown;
    await expect
      .poll(
        async () => {
          const fanout = (await api.request<Health>('GET', '/health')).body.details.fanout;
          seen = fanout;
          return fanout.lag === 0 && BigInt(fanout.checkpoint ?? '0') >= BigInt(last);
        },
        { timeout: 2 * MINUTE, interval: 200, message: `the forwarder's checkpoint at ${last}` },
      )
      .toBe(true)
      .catch((error: Error) => {
        throw new Error(`${error.message}; /health said last: ${JSON.stringify(seen)}`);
      });
    await expect
      .poll(() => new Set(received().map((o) => o.eventId)).size, { timeout: MINUTE, interval: 100 })
      .toBe(stored.length);
    const ids = received().map((o) => o.eventId);
    expect(ids.length, 'no duplicate').toBe(new Set(ids).size);
    expect([...ids].sort()).toEqual(stored.map((s) => s.id).sort());
    return stored.length;
  };

  it(
    'docker kill mid-load, then start: no acknowledged end lost, Kafka still exactly once',
    async () => {
      const dir = dataDir();
      const container = await orchestrator('kill', dir);
      const api = await container.healthy();
      const received = await follow('faults.kill.outcomes');
      const { ender } = await api.seedBusinessUnit('bu-kill');
      // 50 at a time: every client behind Docker's port proxy shares one address, capped at 256 sockets
      // (HTTP_MAX_CONNECTIONS_PER_ADDRESS), and 400 requests at once would open 400.
      const contacts: string[] = [];
      for (let i = 0; i < 400; i += 50)
        contacts.push(...(await Promise.all(Array.from({ length: 50 }, () => api.startContact('bu-kill', 'Phone')))));
      const acknowledged: string[] = [];
      let kill: Promise<string> | undefined;
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < contacts.length) {
            const contactId = contacts[next++]!;
            const answer = await api.endContact(contactId, ender).catch(() => undefined);
            if (answer?.status === 200) acknowledged.push(contactId);
            // SIGKILL while 16 ends are in flight.
            if (acknowledged.length === 150) kill ??= docker(['kill', container.id]);
          }
        }),
      );
      expect(kill, 'the load reached 150 acknowledged ends before the kill').toBeDefined();
      await kill;
      expect(await docker(['inspect', '--format', '{{.State.ExitCode}}', container.id])).toBe('137');
      await docker(['start', container.id]);
      const again = await container.healthy();
      const states = await Promise.all(
        acknowledged.map(
          async (contactId) => (await again.request<{ state: string }>('GET', `/v1/contacts/${contactId}`)).body.state,
        ),
      );
      expect(
        states.filter((state) => state !== 'Ended'),
        'acknowledged ends lost',
      ).toEqual([]);
      expect(await expectExactlyOnce(again, dir, received)).toBeGreaterThanOrEqual(acknowledged.length);
    },
    6 * MINUTE,
  );

  it(
    'docker pause of Kafka for 30 s: ends keep answering, /health says degraded, the forwarder catches up',
    async () => {
      const dir = dataDir();
      const container = await orchestrator('pause', dir);
      const api = await container.healthy();
      const received = await follow('faults.pause.outcomes');
      const { ender } = await api.seedBusinessUnit('bu-pause');
      const before = await api.startContact('bu-pause', 'Email');
      expect((await api.endContact(before, ender)).status).toBe(200);
      await docker(['pause', kafka.getId()]);
      const pausedAt = Date.now();
      const states = new Set<string>();
      let ended = 0;
      try {
        // For the 30 s of the pause: keep starting and ending contacts, and read what /health says.
        while (Date.now() - pausedAt < 30_000) {
          const contactId = await api.startContact('bu-pause', 'Chat');
          const answer = await api.endContact(contactId, ender);
          expect(answer.status).toBe(200);
          ended++;
          const health = await api.request<Health>('GET', '/health');
          expect(health.status).toBe(200);
          states.add(health.body.details.fanout.state);
        }
      } finally {
        await docker(['unpause', kafka.getId()]);
      }
      expect(ended).toBeGreaterThan(10);
      expect([...states]).toContain('degraded');
      expect(await expectExactlyOnce(api, dir, received)).toBe(ended + 1);
      await expect
        .poll(async () => (await api.request<Health>('GET', '/health')).body.details.fanout.state, {
          timeout: MINUTE,
          interval: 200,
        })
        .toBe('running');
    },
    6 * MINUTE,
  );

  it(
    'two orchestrator containers on one volume: exactly one end per contact under races',
    async () => {
      const dir = dataDir();
      const token = `shared-volume-${Math.random().toString(36).slice(2)}-platform-token`;
      const first = await orchestrator(undefined, dir, token);
      const a = await first.healthy();
      const second = await orchestrator(undefined, dir, token);
      const b = await second.healthy();
      const { ender } = await a.seedBusinessUnit('bu-shared');
      const contacts = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).startContact('bu-shared', 'Phone')),
      );
      const answers = await Promise.all(
        contacts.flatMap((contactId) =>
          [a, b, a, b].map(async (api) => ({ contactId, status: (await api.endContact(contactId, ender)).status })),
        ),
      );
      for (const contactId of contacts) {
        const mine = answers
          .filter((x) => x.contactId === contactId)
          .map((x) => x.status)
          .sort();
        expect(mine, contactId).toEqual([200, 409, 409, 409]);
      }
      const db = new Database(join(dir, 'events.db'), { readonly: true });
      try {
        const ends = db
          .prepare(`SELECT stream_id, COUNT(*) AS n FROM events WHERE type = 'ContactEnded' GROUP BY stream_id`)
          .all() as Array<{ n: number }>;
        expect(ends).toHaveLength(contacts.length);
        expect(ends.every((row) => row.n === 1)).toBe(true);
      } finally {
        db.close();
      }
    },
    6 * MINUTE,
  );
});
