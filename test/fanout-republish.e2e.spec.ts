// npm run fanout:republish (dist/scripts/republish-outcomes.js) on a real broker (docs/design.md, Kafka): a read_committed
// consumer gets every outcome of the range again, same key, value and headers (event-id unchanged); the forwarder's
// checkpoint does not move; and the live forwarder, ending contacts meanwhile, goes on without a gap or a duplicate.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import type { Consumer, Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCommittedCheckpoint } from '#fanout';
import { sleep } from '#runtime';
import { OrchestratorClient } from './harness/client.js';
import { BARRIER_HEADER, barrier, waitFor, withKafka } from './harness/suites.js';
import { MAIN, removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';

const { Kafka, logLevel } = kafkajs;
const SUITE = 'fanout:republish e2e';
const SCRIPT = join(MAIN, '../../../../scripts/republish-outcomes.js');

type Received = { key: string; value: string; headers: Record<string, string>; eventId: string; position: bigint };
type Stored = { id: string; position: bigint };

await withKafka(SUITE, (broker) => {
  const suffix = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  const env = {
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_TOPIC_OUTCOMES: `e2e.republish.outcomes.${suffix}`,
    KAFKA_TOPIC_CHECKPOINTS: `e2e.republish.checkpoints.${suffix}`,
    KAFKA_TOPIC_COMMANDS: `e2e.republish.commands.${suffix}`,
    KAFKA_TOPIC_COMMAND_RESULTS: `e2e.republish.command-results.${suffix}`,
    KAFKA_TOPIC_DEAD_LETTER: `e2e.republish.dlq.${suffix}`,
    RATE_LIMIT_PER_MINUTE: '0',
  };
  const dataDir = tempDataDir('co-republish-');
  const received: Received[] = [];
  const barriers: string[] = [];
  let service: ServiceProcess;
  let api: OrchestratorClient;
  let ender = '';
  let kafka: KafkaClient;
  let consumer: Consumer;

  const storedOutcomes = (): Stored[] => {
    const db = new Database(join(dataDir, 'events.db'), { readonly: true });
    try {
      return db
        .prepare<[], { id: string; position: number }>(
          `SELECT event_id AS id, position FROM events WHERE type IN ('ContactEnded','EndContactRejected') ORDER BY position`,
        )
        .all()
        .map((r) => ({ id: r.id, position: BigInt(r.position) }));
    } finally {
      db.close();
    }
  };
  const checkpoint = async (): Promise<bigint | undefined> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await readCommittedCheckpoint(kafka, admin, {
        topic: env.KAFKA_TOPIC_CHECKPOINTS,
        name: `contact-orchestrator.${env.KAFKA_TOPIC_OUTCOMES}`,
        timeoutMs: 10_000,
      });
    } finally {
      await admin.disconnect();
    }
  };
  const republish = (from: bigint, to: bigint) =>
    promisify(execFile)(process.execPath, [SCRIPT, '--from', String(from), '--to', String(to)], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, ...env },
    });
  const countsById = (): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.eventId, (counts.get(r.eventId) ?? 0) + 1);
    return counts;
  };
  /**
   * Waits until every stored outcome arrived at least `times(id)` times and the forwarder has committed them all, then
   * for a barrier behind whatever was committed meanwhile: any extra copy has arrived by then.
   */
  const settle = async (times: (s: Stored) => number): Promise<void> => {
    const stored = storedOutcomes();
    await waitFor(
      () => {
        const counts = countsById();
        return stored.every((s) => (counts.get(s.id) ?? 0) >= times(s));
      },
      60_000,
      'every stored outcome on the topic',
    );
    const last = stored[stored.length - 1]!.position;
    await waitFor(async () => ((await checkpoint()) ?? -1n) >= last, 30_000, `the forwarder's checkpoint at ${last}`);
    await barrier(kafka, env.KAFKA_TOPIC_OUTCOMES, () => barriers);
  };
  const endAll = async (ids: string[]): Promise<void> => {
    for (const id of ids) {
      expect((await api.endContact(id, ender)).status).toBe(200);
      if (id.endsWith('7')) expect((await api.endContact(id, ender)).status).toBe(409); // a refusal, also an outcome
    }
  };
  const contacts = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await api.startContact('bu-republish', i % 2 ? 'Chat' : 'Phone'));
    return ids;
  };

  beforeAll(async () => {
    service = await startServiceProcess({ dataDir, env });
    api = new OrchestratorClient(service.url, service.platformToken);
    ({ ender } = await api.seedBusinessUnit('bu-republish'));
    kafka = new Kafka({ clientId: 'republish-e2e', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    consumer = kafka.consumer({ groupId: `republish-e2e-${suffix}`, readUncommitted: false });
    await consumer.connect();
    for (let i = 0; ; i++) {
      try {
        await consumer.subscribe({ topic: env.KAFKA_TOPIC_OUTCOMES, fromBeginning: true });
        break;
      } catch (error) {
        if (i > 50) throw error;
        await sleep(200);
      }
    }
    await consumer.run({
      eachMessage: async ({ message }) => {
        const barrierId = message.headers?.[BARRIER_HEADER]?.toString();
        if (barrierId !== undefined) return void barriers.push(barrierId);
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        const value = message.value!.toString('utf8');
        const parsed = JSON.parse(value) as { eventId: string; position: string };
        received.push({
          key: message.key!.toString('utf8'),
          value,
          headers,
          eventId: parsed.eventId,
          position: BigInt(parsed.position),
        });
      },
    });
    await endAll(await contacts(30));
    await settle(() => 1);
  }, 180_000);

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await service?.stop();
    removeDataDir(dataDir);
    // A broker this file started is stopped with it (one someone else started is left running).
    await broker.stop();
  });

  describe(SUITE, () => {
    it('every outcome of the range arrives again with its original key, value and headers; the checkpoint does not move', async () => {
      const stored = storedOutcomes();
      expect(received.map((r) => r.eventId).sort()).toStrictEqual(stored.map((s) => s.id).sort());
      const before = await checkpoint();
      expect(before).toBeDefined();
      const from = stored[5]!.position;
      const to = stored[20]!.position;
      const inRange = stored.filter((s) => s.position >= from && s.position <= to);
      const originals = new Map(received.map((r) => [r.eventId, r]));
      const firstCount = received.length;

      const { stdout } = await republish(from, to);
      expect(stdout).toContain(`republished ${inRange.length} outcomes of positions ${from}..${to}`);
      await settle((s) => (s.position >= from && s.position <= to ? 2 : 1));

      const again = received.slice(firstCount);
      expect(again.map((r) => r.eventId).sort()).toStrictEqual(inRange.map((s) => s.id).sort());
      for (const record of again) {
        const original = originals.get(record.eventId)!;
        expect({ key: record.key, value: record.value, headers: record.headers }).toStrictEqual({
          key: original.key,
          value: original.value,
          headers: original.headers,
        });
        expect(record.headers['event-id']).toBe(record.eventId);
      }
      expect(await checkpoint()).toBe(before);
    }, 120_000);

    it('while the live forwarder works: no gap and no duplicate among live outcomes, the range once more', async () => {
      const stored = storedOutcomes();
      const from = stored[0]!.position;
      const to = stored[stored.length - 1]!.position;
      const countsBefore = countsById();
      const ids = await contacts(30);
      const [, { stdout }] = await Promise.all([endAll(ids), republish(from, to)]);
      expect(stdout).toContain(`republished ${stored.length} outcomes`);
      const all = storedOutcomes();
      // Each outcome once more: the range by the republish, the new ones by the live forwarder.
      await settle((s) => (countsBefore.get(s.id) ?? 0) + 1);
      const counts = countsById();
      for (const s of all) {
        const expected = (countsBefore.get(s.id) ?? 0) + 1;
        expect(counts.get(s.id), `outcome at ${s.position}`).toBe(expected);
      }
      expect(all.length).toBeGreaterThan(stored.length);
      // The live forwarder's checkpoint reached the log's last outcome (or beyond): it went on.
      expect((await checkpoint())! >= all[all.length - 1]!.position).toBe(true);
    }, 120_000);
  });
});
