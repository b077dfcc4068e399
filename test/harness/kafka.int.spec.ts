// Proves the broker from resolveKafka() is a real Kafka that kafkajs 2.2.4 can use for what the
// service relies on: transactions (commit, abort, sendOffsets), read_committed consumer groups,
// and surviving a broker restart.
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printSkip } from './skip.js';
import { BARRIER_HEADER, barrier, waitFor, withKafka } from './suites.js';

const { Kafka, logLevel } = kafkajs;
const SUITE = 'kafka harness';
// Resolved at collection time so a missing broker becomes a visible skip, not a hook failure.

const suffix = `${Date.now()}-${randomBytes(3).toString('hex')}`;
await withKafka(SUITE, (broker) => {
  describe(`${SUITE} (${broker.source}, ${broker.brokers.join(',')})`, () => {
    let kafka: KafkaClient;
    let admin: Admin;

    beforeAll(async () => {
      // kafkajs logs retriable broker answers (e.g. CONCURRENT_TRANSACTIONS right after a commit)
      // as ERROR; real failures still surface as rejected promises, so keep the output readable.
      kafka = new Kafka({ clientId: `harness-${suffix}`, brokers: broker.brokers, logLevel: logLevel.NOTHING });
      admin = kafka.admin();
      await admin.connect();
    });

    afterAll(async () => {
      await admin?.disconnect();
      await broker.stop();
    });

    it('commits 3, aborts 1, and a read_committed consumer group reads exactly the 3 in order', async () => {
      const topic = `harness-tx-${suffix}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });

      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        transactionalId: `harness-tx-${suffix}`,
      });
      await producer.connect();
      try {
        const committed = await producer.transaction();
        await committed.send({ topic, messages: ['c1', 'c2', 'c3'].map((value) => ({ key: 'contact-1', value })) });
        await committed.commit();
        const aborted = await producer.transaction();
        await aborted.send({ topic, messages: [{ key: 'contact-1', value: 'aborted' }] });
        await aborted.abort();
      } finally {
        await producer.disconnect();
      }
      // 3 records + commit marker + 1 record + abort marker: the aborted record really is in the log. The broker
      // answers commit and abort before it has written their markers, so the end offset gets there shortly after.
      await expect
        .poll(async () => (await admin.fetchTopicOffsets(topic))[0]?.high, {
          timeout: 10_000,
          message: 'the end offset with both transaction markers',
        })
        .toBe('6');

      const consumer = kafka.consumer({ groupId: `harness-g-${suffix}`, readUncommitted: false });
      const seen: string[] = [];
      const barriers: string[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            const barrierId = message.headers?.[BARRIER_HEADER]?.toString();
            if (barrierId !== undefined) barriers.push(barrierId);
            else seen.push(message.value?.toString() ?? '<null>');
          },
        });
        await waitFor(() => seen.length >= 3, 30_000, '3 committed messages');
        // A record behind the aborted one: once it is read, an aborted record leaking through read_committed would be too.
        await barrier(kafka, topic, () => barriers);
      } finally {
        await consumer.disconnect();
      }
      expect(seen).toEqual(['c1', 'c2', 'c3']);
    }, 60_000);

    it('commits consumer offsets atomically with produced records (sendOffsets)', async () => {
      const input = `harness-in-${suffix}`;
      const output = `harness-out-${suffix}`;
      const groupId = `harness-eos-${suffix}`;
      await admin.createTopics({ topics: [{ topic: input }, { topic: output }], waitForLeaders: true });

      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        transactionalId: `harness-eos-${suffix}`,
      });
      await producer.connect();
      try {
        const ok = await producer.transaction();
        await ok.send({ topic: output, messages: [{ value: 'derived' }] });
        await ok.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic: input, partitions: [{ partition: 0, offset: '3' }] }],
        });
        await ok.commit();
        const rolledBack = await producer.transaction();
        await rolledBack.send({ topic: output, messages: [{ value: 'never' }] });
        await rolledBack.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic: input, partitions: [{ partition: 0, offset: '99' }] }],
        });
        await rolledBack.abort();
      } finally {
        await producer.disconnect();
      }
      // Offsets sent in a transaction become visible once its commit marker is written, just after commit() answers.
      const committedOffset = await waitFor(
        async () => {
          const [offsets] = await admin.fetchOffsets({ groupId, topics: [input] });
          const offset = offsets?.partitions.find((p) => p.partition === 0)?.offset;
          return offset !== undefined && offset !== '-1' ? offset : undefined;
        },
        10_000,
        'the committed consumer offset',
      );
      expect(committedOffset).toBe('3');
    }, 60_000);

    if (broker.stopBroker && broker.startBroker) {
      const { stopBroker, startBroker } = broker;
      it('keeps data across a broker stop/start and a producer can produce again', async () => {
        const topic = `harness-restart-${suffix}`;
        await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
        const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        try {
          await producer.send({ topic, messages: [{ value: 'before' }] });
          await stopBroker();
          await startBroker();
          // Same producer: kafkajs has to notice the dropped connection and reconnect by itself.
          await producer.send({ topic, messages: [{ value: 'after' }] });
        } finally {
          await producer.disconnect();
        }
        const [p0] = await admin.fetchTopicOffsets(topic);
        expect(p0?.high).toBe('2');
      }, 120_000);
    } else {
      const reason = `broker restart needs the local-kraft broker, this one comes from ${broker.source}`;
      printSkip(`${SUITE} restart`, reason);
      it.skip(`keeps data across a broker stop/start (skipped: ${reason})`, () => {});
    }
  });
});
