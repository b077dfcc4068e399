// The outcome forwarder started on a store that is not the one its committed checkpoint was written from (a wiped
// DATA_DIR, or another deployment using the same forwarder name), against a REAL Kafka broker and real SQLite stores:
// it forwards nothing and says why, instead of silently resuming "after" a position the new store has not reached.
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor, withKafka } from '#harness/suites';
import { sleep } from '#runtime';
import { readCommittedCheckpoint } from './checkpoint-topic.js';
import { allEvents, appendWorkload, checkExactlyOnce, contactIdsFor, readTopic } from './testing/outcome-fixtures.js';
import { afterEachCleanups, forwarders, recordingLogger, tempStores } from './testing/forwarder-test-kit.js';

const { Kafka, logLevel } = kafkajs;
const SUITE = 'outcome forwarder identity';
const cleanups = afterEachCleanups();
const tempStore = tempStores(cleanups, 'co-fanout-id-');

await withKafka(SUITE, (broker) => {
  const kafka: KafkaClient = new Kafka({
    clientId: 'fanout-id-int',
    brokers: broker.brokers,
    logLevel: logLevel.NOTHING,
  });
  afterAll(() => broker.stop());

  const forwarder = forwarders(cleanups, broker.brokers, 'fanout-id-int-forwarder');

  describe(`${SUITE} (${broker.source}, ${broker.brokers.join(',')})`, () => {
    it('a checkpoint beyond the store head (new store, same forwarder name): degraded, nothing forwarded, resumes once the store reaches it', async () => {
      const id = `identity-${Date.now()}-${randomBytes(3).toString('hex')}`;
      const shared = {
        checkpointTopic: `outcomes-checkpoints-${id}`,
        name: `forwarder-${id}`,
        transactionalId: `tx-${id}`,
      };
      const at: Record<string, number> = {};
      const t0 = Date.now();

      // Forwarder A: store A's outcomes, then a graceful stop; its checkpoint is store A's head.
      const storeA = tempStore();
      await appendWorkload(storeA, contactIdsFor(20), 40);
      const checkpointA = (await storeA.headPosition())!;
      const a = forwarder(storeA, { ...shared, topic: `outcomes-${id}-a` });
      a.start();
      expect(await a.waitFor(checkpointA, 60_000)).toBe(true);
      await a.stop();
      at.aForwarded = Date.now() - t0;

      // Forwarder B: same name, transactional id and checkpoint topic, a new store with fewer events.
      const storeB = tempStore();
      const contactsB = contactIdsFor(5);
      await appendWorkload(storeB, contactsB, 5);
      const headB = (await storeB.headPosition())!;
      expect(headB).toBeLessThan(checkpointA);
      const topicB = `outcomes-${id}-b`;
      const logger = recordingLogger();
      const b = forwarder(storeB, { ...shared, topic: topicB, backoff: { initialMs: 100, maxMs: 500 } }, logger);
      const started = Date.now();
      b.start();
      await waitFor(() => b.status().state === 'degraded', 30_000, "status 'degraded'");
      at.bDegradedIn = Date.now() - started;
      const expected =
        `checkpoint ${checkpointA} in ${shared.checkpointTopic} (key ${shared.name}) is beyond the event store's head ${headB}: ` +
        `this store is not the one this checkpoint belongs to (wiped DATA_DIR, or another deployment using the same forwarder name). ` +
        `Give this deployment its own forwarder name/transactional id, or reset the checkpoint`;
      expect(b.status()).toEqual({ state: 'degraded', lastError: expected }); // no checkpoint, no lag: nothing of B's is committed

      // An absence to show: through several re-checks (100-500 ms backoff) it stays degraded and logs no second line;
      // no event marks a re-check that changed nothing.
      await sleep(3_000);
      expect(b.status()).toEqual({ state: 'degraded', lastError: expected });
      const errors = logger.lines.filter((l) => !l.startsWith('INFO'));
      expect(errors, logger.lines.join('\n')).toEqual([
        `ERROR outcome forwarder: ${expected}. Forwarding nothing; checking again with backoff`,
      ]);
      expect(await readTopic(kafka, topicB, { timeoutMs: 15_000 })).toEqual([]); // read_committed: nothing from B
      const admin = kafka.admin();
      await admin.connect();
      cleanups.push(() => admin.disconnect());
      const committed = await readCommittedCheckpoint(kafka, admin, {
        topic: shared.checkpointTopic,
        name: shared.name,
        timeoutMs: 20_000,
      });
      expect(committed, 'B wrote no checkpoint').toBe(checkpointA);
      at.bCheckedNothing = Date.now() - t0;

      // Store B catches up past the checkpoint (a lagging replica): B resumes after it, without a restart.
      await appendWorkload(storeB, contactsB, 60);
      const headB2 = (await storeB.headPosition())!;
      expect(headB2).toBeGreaterThan(checkpointA);
      const caughtUp = Date.now();
      expect(await b.waitFor(headB2, 60_000), logger.lines.join('\n')).toBe(true);
      at.bResumedIn = Date.now() - caughtUp;
      expect(b.status()).toMatchObject({ state: 'running', checkpoint: headB2.toString() });
      await waitFor(() => b.status().lag === 0, 5_000, 'lag 0');
      expect(logger.lines.some((l) => l.includes(`after position ${checkpointA}`))).toBe(true);
      const after = (await allEvents(storeB)).filter((e) => e.position > checkpointA);
      const outcomes = after.filter((e) => e.type === 'ContactEnded' || e.type === 'EndContactRejected').length;
      const received = await readTopic(kafka, topicB, { timeoutMs: 30_000, until: (r) => r.length >= outcomes });
      const report = checkExactlyOnce(after, received);
      expect(report).toEqual({ ...report, missing: [], duplicated: [], unexpected: [], outOfOrder: [], malformed: [] });
      console.info(
        `identity test (ms): ${JSON.stringify(at)}; checkpoint ${checkpointA}, store B head ${headB} then ${headB2}`,
      );
    }, 180_000);
  });
});
