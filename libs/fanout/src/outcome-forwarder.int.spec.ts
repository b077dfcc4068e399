// The outcome forwarder against a REAL Kafka broker (resolveKafka(): env, testcontainers or the local KRaft broker)
// and a real SQLite event store: exactly once for read_committed consumers, across a graceful restart, a SIGKILLed
// forwarder (its open transaction abandoned) and a broker outage.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { printSkip } from '#harness/skip';
import { waitFor, withKafka } from '#harness/suites';
import { SqliteEventStore } from '#event-store';
import { sleep } from '#runtime';
import { checkpointMessage, readCommittedCheckpoint } from './checkpoint-topic.js';
import { ensureTopics } from './topics.js';
import {
  allEvents,
  appendWorkload,
  checkExactlyOnce,
  contactIdsFor,
  randomAppend,
  readTopic,
} from './testing/outcome-fixtures.js';
import {
  afterEachCleanups,
  deploymentNames,
  forwarders,
  recordingLogger,
  tempStores,
} from './testing/forwarder-test-kit.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
const SUITE = 'outcome forwarder';
const CHILD = fileURLToPath(new URL('./testing/forwarder-child.mjs', import.meta.url));
const cleanups = afterEachCleanups();
const tempStore = tempStores(cleanups, 'co-fanout-');

/** Unique topics, forwarder name and transactional id per test: reruns never see old data. */
await withKafka(SUITE, (broker) => {
  const kafka: KafkaClient = new Kafka({ clientId: 'fanout-int', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  afterAll(() => broker.stop());

  const forwarder = forwarders(cleanups, broker.brokers, 'fanout-int-forwarder');

  async function expectExactlyOnce(store: SqliteEventStore, topic: string): Promise<void> {
    const events = await allEvents(store);
    const expected = events.filter((e) => e.type === 'ContactEnded' || e.type === 'EndContactRejected').length;
    const received = await readTopic(kafka, topic, { timeoutMs: 30_000, until: (r) => r.length >= expected });
    const report = checkExactlyOnce(events, received);
    expect(report).toEqual({ ...report, missing: [], duplicated: [], unexpected: [], outOfOrder: [], malformed: [] });
    expect(report.received).toBe(report.expected);
  }

  describe(`${SUITE} (${broker.source}, ${broker.brokers.join(',')})`, () => {
    it('forwards every ContactEnded and EndContactRejected exactly once, in order per contact, and resumes after a graceful stop', async () => {
      const n = deploymentNames('basic');
      const store = tempStore();
      const contacts = contactIdsFor(40);
      await appendWorkload(store, contacts.slice(0, 20), 100); // caught up from the log at start
      const f1 = forwarder(store, { ...n, partitions: 3, maxBatch: 50 });
      f1.start();
      expect(f1.status().state).toBe('starting');
      await appendWorkload(store, contacts, 200); // live, while the forwarder runs
      const head = (await store.headPosition())!;
      expect(await f1.waitFor(head, 60_000)).toBe(true);
      expect(f1.status()).toMatchObject({ state: 'running', checkpoint: head.toString() });
      await waitFor(() => f1.status().lag === 0, 5_000, 'lag 0');
      await f1.stop();
      expect(f1.status().state).toBe('stopped');

      const admin = kafka.admin();
      await admin.connect();
      try {
        expect((await admin.fetchTopicMetadata({ topics: [n.topic] })).topics[0]?.partitions).toHaveLength(3);
        // EndTxn answers before the commit markers are written: the checkpoint becomes readable a moment later.
        let checkpoint: bigint | undefined;
        const deadline = Date.now() + 10_000;
        while (checkpoint !== head && Date.now() < deadline) {
          checkpoint = await readCommittedCheckpoint(kafka, admin, {
            topic: n.checkpointTopic,
            name: n.name,
            timeoutMs: 20_000,
          });
          if (checkpoint !== head) await sleep(100);
        }
        expect(checkpoint).toBe(head);
      } finally {
        await admin.disconnect();
      }
      const outcomes = (await allEvents(store)).filter(
        (e) => e.type === 'ContactEnded' || e.type === 'EndContactRejected',
      );
      expect(outcomes).toHaveLength(300);

      // A new instance resumes after the committed checkpoint: nothing forwarded twice.
      const f2 = forwarder(store, n);
      f2.start();
      await appendWorkload(store, contacts.slice(0, 5), 20);
      const head2 = (await store.headPosition())!;
      expect(await f2.waitFor(head2, 60_000)).toBe(true);
      await expectExactlyOnce(store, n.topic);
    }, 120_000);

    it('a SIGKILLed forwarder (open transaction abandoned) is fenced by its successor: no gap, no duplicate', async () => {
      const n = deploymentNames('crash');
      const store = tempStore();
      const contacts = contactIdsFor(60);
      await appendWorkload(store, contacts, 600);
      const head = (await store.headPosition())!;

      // Small batches; the 30th transaction (the 1st is the fencing one) sends its records and never commits.
      const childOptions = { ...n, maxBatch: 10, lingerMs: 1 };
      const child = spawn(
        process.execPath,
        [CHILD, store.file, broker.brokers.join(','), JSON.stringify(childOptions), '30'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      let output = '';
      let committed = 0n;
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        for (const m of chunk.toString().matchAll(/^COMMITTED (\d+)$/gm)) committed = BigInt(m[1]!);
        if (/^HANGING$/m.test(chunk.toString())) child.kill('SIGKILL');
      });
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await Promise.race([exited, sleep(60_000)]);
      expect(child.signalCode, `child output:\n${output}`).toBe('SIGKILL');
      expect(committed, 'killed mid-stream').toBeGreaterThan(0n);
      expect(committed, 'killed mid-stream').toBeLessThan(head);
      // The zombie's records are in the log, in a transaction nobody will commit.
      const zombie = (
        await readTopic(kafka, n.topic, {
          readUncommitted: true,
          timeoutMs: 30_000,
          until: (received) => received.some((r) => BigInt(r.value.position) > committed),
        })
      ).filter((r) => BigInt(r.value.position) > committed);

      const logger = recordingLogger();
      const f2 = forwarder(store, n, logger);
      f2.start();
      for (let i = 0; i < 100; i++) await randomAppend(store, contacts)();
      const head2 = (await store.headPosition())!;
      expect(await f2.waitFor(head2, 60_000), logger.lines.join('\n')).toBe(true);
      expect(logger.lines.find((l) => l.includes('forwarding to'))).toContain(`after position ${committed}`);
      await expectExactlyOnce(store, n.topic);
      console.info(
        `crash test: killed with ${zombie.length} outcome(s) sent in an open transaction after position ${committed} of ${head}`,
      );
    }, 150_000);

    it('reads back the last committed checkpoint past other keys and aborted transactions; creates topics once', async () => {
      const n = deploymentNames('checkpoint');
      const admin = kafka.admin();
      await admin.connect();
      const producer = kafka.producer({ transactionalId: n.transactionalId, idempotent: true, maxInFlightRequests: 1 });
      cleanups.push(() => admin.disconnect());
      cleanups.push(() => producer.disconnect());
      const logger = recordingLogger();
      const spec = { outcomes: { topic: n.topic, partitions: 2 }, checkpoints: { topic: n.checkpointTopic } };
      expect(await ensureTopics(admin, spec, logger)).toEqual({ [n.topic]: 'created', [n.checkpointTopic]: 'created' });
      expect(await ensureTopics(admin, spec, logger)).toEqual({ [n.topic]: 'exists', [n.checkpointTopic]: 'exists' });
      const [config] = (
        await admin.describeConfigs({
          resources: [{ type: ConfigResourceTypes.TOPIC, name: n.checkpointTopic, configNames: ['cleanup.policy'] }],
          includeSynonyms: false,
        })
      ).resources;
      expect(config?.configEntries[0]?.configValue).toBe('compact');

      const read = (name: string) =>
        readCommittedCheckpoint(kafka, admin, { topic: n.checkpointTopic, name, timeoutMs: 20_000 });
      expect(await read('mine')).toBeUndefined(); // empty topic
      await producer.connect();
      const commit = async (messages: ReturnType<typeof checkpointMessage>[], abort = false) => {
        const tx = await producer.transaction();
        await tx.send({ topic: n.checkpointTopic, messages });
        await (abort ? tx.abort() : tx.commit());
      };
      await commit([checkpointMessage('mine', 4n), checkpointMessage('mine', 5n)]);
      // 1 000 records of another forwarder after ours: the reader has to widen its window back to them.
      for (let i = 0; i < 4; i++)
        await commit(Array.from({ length: 250 }, (_, j) => checkpointMessage('other', BigInt(i * 250 + j))));
      await commit([checkpointMessage('mine', 99n)], true);
      // Fence our own producer as the forwarder does, so every commit marker is written before reading.
      await producer.disconnect();
      const fencer = kafka.producer({ transactionalId: n.transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await fencer.connect();
      await (await fencer.transaction()).abort();
      await fencer.disconnect();

      expect(await read('mine')).toBe(5n);
      expect(await read('other')).toBe(999n);
      expect(await read('nobody')).toBeUndefined();

      // Another forwarder's transaction left open holds the LSO below our newer checkpoint: the reader waits for the
      // broker to abort it (its transaction timeout) instead of returning our older checkpoint.
      const stuck = kafka.producer({
        transactionalId: `${n.transactionalId}-other`,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: 1_000,
      });
      cleanups.push(() => stuck.disconnect());
      await stuck.connect();
      await (
        await stuck.transaction()
      ).send({ topic: n.checkpointTopic, messages: [checkpointMessage('other', 1_000n)] });
      const ours = kafka.producer({ transactionalId: n.transactionalId, idempotent: true, maxInFlightRequests: 1 });
      cleanups.push(() => ours.disconnect());
      await ours.connect();
      const tx = await ours.transaction();
      await tx.send({ topic: n.checkpointTopic, messages: [checkpointMessage('mine', 6n)] });
      await tx.commit();
      await ours.disconnect();
      await fencer.connect();
      await (await fencer.transaction()).abort();
      const t0 = Date.now();
      expect(
        await readCommittedCheckpoint(kafka, admin, { topic: n.checkpointTopic, name: 'mine', timeoutMs: 45_000 }),
      ).toBe(6n);
      console.info(`checkpoint test: waited ${Date.now() - t0} ms for the broker to abort the other open transaction`);
      await fencer.disconnect();
    }, 90_000);

    if (broker.stopBroker && broker.startBroker) {
      const { stopBroker, startBroker } = broker;
      it('survives a broker outage while events keep coming: degraded, then caught up, no gap, no duplicate', async () => {
        const n = deploymentNames('outage');
        const store = tempStore();
        const contacts = contactIdsFor(30);
        const logger = recordingLogger();
        // A transaction cut by the outage is aborted by the broker after transactionTimeoutMs at the latest: keep it
        // short here so a slow restart on a loaded machine cannot outlast the wait below.
        const f = forwarder(
          store,
          // With its lease, as the service runs it: the lease's group is cut off by the outage too.
          { ...n, backoff: { initialMs: 100, maxMs: 2_000 }, transactionTimeoutMs: 20_000, lease: {} },
          logger,
        );
        f.start();
        // A second forwarder (own topics and transactional id) that is stopped while the broker is down.
        const other = forwarder(store, { ...deploymentNames('outage-stop'), transactionTimeoutMs: 20_000 });
        other.start();
        await appendWorkload(store, contacts, 60);
        expect(await f.waitFor((await store.headPosition())!, 60_000)).toBe(true);

        let appending = true;
        const appender = (async () => {
          while (appending) {
            await randomAppend(store, contacts)();
            await sleep(20); // pacing: a steady trickle of appends, not a wait for an effect
          }
        })();
        let brokerDown = false;
        const t0 = Date.now();
        const at: Record<string, number> = {};
        try {
          await sleep(300); // pacing: appends flowing before the outage (the load, not a synchronisation)
          brokerDown = true;
          await stopBroker();
          at.brokerStopped = Date.now() - t0;
          await waitFor(() => f.status().state === 'degraded', 60_000, "status 'degraded'");
          at.degraded = Date.now() - t0;
          expect(f.status().lastError).toBeTruthy();
          // An absence to show (no event marks "did not recover while the broker is down"): it stays degraded.
          await sleep(2_000);
          expect(f.status().state).toBe('degraded');
          const stopping = Date.now();
          await other.stop();
          at.otherStoppedIn = Date.now() - stopping;
          expect(other.status().state).toBe('stopped');
          expect(at.otherStoppedIn).toBeLessThan(20_000);
        } finally {
          if (brokerDown) await startBroker();
          at.brokerStarted = Date.now() - t0;
        }
        // Recovery waits for the restarted broker's coordinators to load; on a loaded 2-core machine that took over 90 s once.
        await waitFor(() => f.status().state === 'running', 180_000, "status 'running' again").catch(
          (error: unknown) => {
            // What the forwarder went through, for whoever reads a red run.
            console.error(`outage test: status ${JSON.stringify(f.status())}\n${logger.lines.slice(-40).join('\n')}`);
            throw error;
          },
        );
        at.running = Date.now() - t0;
        await sleep(1_000); // pacing: appends still flowing once running again, then the load stops
        appending = false;
        await appender;
        const head = (await store.headPosition())!;
        expect(await f.waitFor(head, 90_000), logger.lines.join('\n')).toBe(true);
        at.caughtUp = Date.now() - t0;
        if (process.env.FANOUT_DEBUG) console.info(logger.lines.join('\n'));
        console.info(
          `outage test (ms since start): ${JSON.stringify(at)}; ${logger.lines.filter((l) => !l.startsWith('INFO')).length} warnings/errors logged`,
        );
        expect(
          logger.lines.some((l) => l.startsWith('ERROR') && l.includes('resuming from the committed checkpoint')),
        ).toBe(true);
        expect(logger.lines.some((l) => l.includes('recovered after'))).toBe(true);
        await expectExactlyOnce(store, n.topic);
      }, 330_000);
    } else {
      const reason = `a broker outage needs the local-kraft broker, this one comes from ${broker.source}`;
      printSkip(`${SUITE} outage`, reason);
      it.skip(`survives a broker outage (skipped: ${reason})`, () => {});
    }
  });
});
