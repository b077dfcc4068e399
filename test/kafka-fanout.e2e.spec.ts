/**
 * Exactly-once fan-out end to end: the real service on a temp DATA_DIR with a real broker. Every
 * ContactEnded and EndContactRejected in the event store appears once in the outcomes topic, in position order per
 * contact, for a read_committed consumer — also after the service is SIGKILLed mid-stream and restarted, and after
 * the broker is stopped and restarted mid-stream (commands keep being accepted meanwhile).
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { BARRIER_HEADER, barrier, withKafka } from './harness/suites.js';
import { removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';

const { Kafka, logLevel } = kafkajs;
const SUITE = 'kafka fan-out e2e';

type Outcome = { eventId: string; type: string; position: string; streamId: string; data: { contactId: string } };

await withKafka(SUITE, (broker) => {
  const suffix = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  const env = {
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_TOPIC_OUTCOMES: `e2e.outcomes.${suffix}`,
    KAFKA_TOPIC_CHECKPOINTS: `e2e.outcomes.checkpoints.${suffix}`,
    KAFKA_TOPIC_COMMANDS: `e2e.commands.${suffix}`,
    KAFKA_TOPIC_COMMAND_RESULTS: `e2e.command-results.${suffix}`,
    KAFKA_TOPIC_DEAD_LETTER: `e2e.dlq.${suffix}`,
    ANONYMOUS_REFUSALS_PER_MINUTE: '100000',
  };
  const dataDir = tempDataDir('co-fanout-');
  const platformToken = 'fanout-e2e-platform-token';
  const received: Outcome[] = [];
  const barriers: string[] = [];
  let kafka: InstanceType<typeof Kafka>;
  // Key and event-id header as they arrived: checked in the test body, since kafkajs swallows a throw in eachMessage.
  const envelopes: Array<{
    key: string | undefined;
    eventIdHeader: string | undefined;
    contactId: string;
    eventId: string;
  }> = [];
  let service: ServiceProcess | undefined;
  let consumer: Consumer;
  let api: OrchestratorClient;
  let bu: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;

  const start = async (): Promise<void> => {
    service = await startServiceProcess({ dataDir, platformToken, env });
    api = new OrchestratorClient(service.url, platformToken);
  };

  /** The outcomes the event store holds, in log order: what the topic must show, once each. */
  const storedOutcomes = (): Array<{ id: string; contactId: string; position: number }> => {
    const db = new Database(join(dataDir, 'events.db'), { readonly: true });
    try {
      return (
        db
          .prepare(
            `SELECT event_id AS id, data, position FROM events WHERE type IN ('ContactEnded','EndContactRejected') ORDER BY position`,
          )
          .all() as Array<{ id: string; data: string; position: number }>
      ).map((r) => ({
        id: r.id,
        contactId: (JSON.parse(r.data) as { contactId: string }).contactId,
        position: r.position,
      }));
    } finally {
      db.close();
    }
  };

  /** Waits until the topic shows every stored outcome, then checks: no duplicate, no gap, per-contact order. */
  const expectExactlyOnce = async (): Promise<number> => {
    const stored = storedOutcomes();
    await expect
      .poll(() => received.length, { timeout: 120_000, interval: 100, message: 'every stored outcome on the topic' })
      .toBeGreaterThanOrEqual(stored.length);
    // A duplicate would be sent in the same transaction batch as the original or right after it: once the forwarder
    // has committed the last stored outcome, a barrier behind it shows any such copy.
    const last = String(stored[stored.length - 1]?.position ?? 0);
    await expect
      .poll(
        async () =>
          BigInt(
            (await api.request<{ details: { fanout: { checkpoint?: string } } }>('GET', '/health')).body.details.fanout
              .checkpoint ?? -1,
          ) >= BigInt(last),
        { timeout: 30_000, interval: 100, message: `the forwarder's checkpoint at ${last}` },
      )
      .toBe(true);
    await barrier(kafka, env.KAFKA_TOPIC_OUTCOMES, () => barriers);
    const ids = received.map((o) => o.eventId);
    for (const e of envelopes)
      expect({ key: e.key, eventIdHeader: e.eventIdHeader }, `record of ${e.eventId}`).toEqual({
        key: e.contactId,
        eventIdHeader: e.eventId,
      });
    expect(new Set(ids).size, 'no duplicate').toBe(ids.length);
    expect([...ids].sort(), 'no gap, nothing extra').toEqual(stored.map((s) => s.id).sort());
    const byContact = new Map<string, bigint[]>();
    for (const o of received)
      byContact.set(o.data.contactId, [...(byContact.get(o.data.contactId) ?? []), BigInt(o.position)]);
    for (const [contactId, positions] of byContact)
      expect(positions, `order of ${contactId}`).toEqual([...positions].sort((a, b) => (a < b ? -1 : 1)));
    return stored.length;
  };

  /** Ends contacts from a few concurrent clients: successes, NotActive and Unauthorized refusals. */
  const endSome = async (ids: string[], onProgress?: (done: number) => Promise<void>): Promise<Set<string>> => {
    const answered = new Set<string>();
    let next = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          try {
            if (id.endsWith('3')) await api.endContact(id, bu.viewer);
            const answer = await api.endContact(id, bu.ender);
            if (answer.status === 200) answered.add(id);
            await api.endContact(id, bu.ender);
          } catch {
            // connection lost with a killed service: no answer, no promise
          }
          done++;
          await onProgress?.(done);
        }
      }),
    );
    return answered;
  };

  const contacts = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await api.startContact('fanout-bu', i % 2 ? 'Email' : 'Phone'));
    return ids;
  };

  beforeAll(async () => {
    await start();
    bu = await api.seedBusinessUnit('fanout-bu');
    kafka = new Kafka({ clientId: 'fanout-e2e', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    consumer = kafka.consumer({
      groupId: `fanout-e2e-${suffix}`,
      readUncommitted: false,
      retry: { retries: 100, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    await consumer.connect();
    // The service creates the topic at start; the consumer subscribes once it exists.
    await vi.waitFor(() => consumer.subscribe({ topic: env.KAFKA_TOPIC_OUTCOMES, fromBeginning: true }), {
      timeout: 10_000,
      interval: 200,
    });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const barrierId = message.headers?.[BARRIER_HEADER]?.toString();
        if (barrierId !== undefined) return void barriers.push(barrierId);
        const value = JSON.parse(message.value!.toString()) as Outcome;
        envelopes.push({
          key: message.key?.toString(),
          eventIdHeader: message.headers?.['event-id']?.toString(),
          contactId: value.data.contactId,
          eventId: value.eventId,
        });
        received.push(value);
      },
    });
  }, 120_000);

  afterAll(async () => {
    await consumer?.disconnect();
    await service?.stop();
    removeDataDir(dataDir);
  });

  it('every outcome appears once in contact.outcomes, in order per contact', async () => {
    await endSome(await contacts(30));
    expect(await expectExactlyOnce()).toBeGreaterThanOrEqual(30 + 3 * 2);
    const health = await api.request<{ details: { fanout: { state: string } } }>('GET', '/health');
    expect(health.body.details.fanout.state).toBe('running');
  }, 120_000);

  it('SIGKILL mid-stream and restart: no gap, no duplicate', async () => {
    const ids = await contacts(60);
    await endSome(ids, async (done) => {
      if (done === 25) await service!.kill();
    });
    await start();
    bu = { ...bu, ender: await api.securityUser(bu.enderId), viewer: await api.securityUser(bu.viewerId) };
    await endSome(await contacts(10));
    await expectExactlyOnce();
  }, 240_000);

  it('broker stopped and restarted mid-stream: commands still accepted, fan-out degraded then caught up, exactly once', async (ctx) => {
    if (!broker.stopBroker || !broker.startBroker)
      ctx.skip(`the ${broker.source} broker cannot be stopped by the test`);
    const ids = await contacts(30);
    const answered = await endSome(ids.slice(0, 10));
    await broker.stopBroker!();
    try {
      const duringOutage = await endSome(ids.slice(10));
      expect(duringOutage.size, 'the store is the truth: commands are accepted without Kafka').toBe(20);
      const fanoutState = async () =>
        (await api.request<{ details: { fanout: { state: string } } }>('GET', '/health')).body.details.fanout.state;
      await expect.poll(fanoutState, { timeout: 30_000, interval: 200 }).toBe('degraded');
    } finally {
      await broker.startBroker!();
    }
    expect(answered.size).toBe(10);
    await expectExactlyOnce();
  }, 300_000);
});
