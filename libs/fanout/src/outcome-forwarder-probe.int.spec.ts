// An IDLE outcome forwarder (caught up, nothing to send) against a REAL Kafka broker that goes down: no transaction
// fails, so only the idle probe can tell; it must report 'degraded' while the broker is down, 'running' once it is
// back, log each once, and leave exactly-once delivery untouched.
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { printSkip } from '#harness/skip';
import { waitFor, withKafka } from '#harness/suites';
import { sleep } from '#runtime';
import { allEvents, appendWorkload, checkExactlyOnce, contactIdsFor, readTopic } from './testing/outcome-fixtures.js';
import { afterEachCleanups, forwarders, recordingLogger, tempStores } from './testing/forwarder-test-kit.js';

const { Kafka, logLevel } = kafkajs;
const SUITE = 'outcome forwarder idle probe';
const cleanups = afterEachCleanups();
const tempStore = tempStores(cleanups, 'co-fanout-probe-');

await withKafka(SUITE, (broker) => {
  const kafka: KafkaClient = new Kafka({
    clientId: 'fanout-probe-int',
    brokers: broker.brokers,
    logLevel: logLevel.NOTHING,
  });
  afterAll(() => broker.stop());

  describe(`${SUITE} (${broker.source}, ${broker.brokers.join(',')})`, () => {
    it('an idle forwarder turns degraded while the broker is down, running once it is back, then forwards exactly once', async (ctx) => {
      const { stopBroker, startBroker } = broker;
      if (!stopBroker || !startBroker) {
        const reason = `stopping the broker needs the local-kraft broker, this one comes from ${broker.source}`;
        printSkip(SUITE, reason);
        ctx.skip(reason);
        return;
      }
      const id = `probe-${Date.now()}-${randomBytes(3).toString('hex')}`;
      const n = {
        topic: `outcomes-${id}`,
        checkpointTopic: `outcomes-checkpoints-${id}`,
        name: `forwarder-${id}`,
        transactionalId: `tx-${id}`,
      };
      const store = tempStore();
      const contacts = contactIdsFor(20);
      await appendWorkload(store, contacts, 40);
      const logger = recordingLogger();
      const problems = (): string[] => logger.lines.filter((l) => !l.startsWith('INFO'));
      // Default probeIntervalMs (5 s) and probe timeout (3 s): what the service runs with.
      const f = forwarders(cleanups, broker.brokers, 'fanout-probe-int-forwarder')(store, n, logger);
      const t0 = Date.now();
      const at: Record<string, number> = {};
      f.start();
      const head = (await store.headPosition())!;
      expect(await f.waitFor(head, 60_000), logger.lines.join('\n')).toBe(true);
      at.caughtUp = Date.now() - t0;

      // Idle with the broker up: probes pass, nothing reported. An absence over several probe intervals: no event
      // marks a probe that passed.
      await sleep(6_000);
      expect(f.status()).toEqual({ state: 'running', checkpoint: head.toString(), lag: 0 });
      expect(problems()).toEqual([]);

      let brokerDown = false;
      try {
        brokerDown = true;
        await stopBroker();
        const stopped = Date.now();
        at.brokerStopped = stopped - t0;
        await waitFor(() => f.status().state === 'degraded', 15_000, "status 'degraded' while idle");
        at.degradedIn = Date.now() - stopped;
        expect(f.status()).toMatchObject({ state: 'degraded', checkpoint: head.toString(), lag: 0 }); // nothing appended
        expect(f.status().lastError).toMatch(/^Kafka broker unreachable while idle: /);
        // More failed probes: still degraded, still one line for the episode (an absence over several intervals).
        await sleep(6_000);
        expect(f.status().state).toBe('degraded');
        expect(problems(), logger.lines.join('\n')).toEqual([
          expect.stringMatching(
            /^ERROR outcome forwarder: Kafka broker unreachable while idle: .*; reporting degraded until it answers$/,
          ),
        ]);
      } finally {
        const starting = Date.now();
        if (brokerDown) await startBroker();
        at.brokerStartedIn = Date.now() - starting;
      }
      const started = Date.now();
      await waitFor(() => f.status().state === 'running', 30_000, "status 'running' again");
      at.runningIn = Date.now() - started;
      expect(logger.lines.filter((l) => l.includes('reachable again'))).toEqual([
        'INFO outcome forwarder: Kafka broker reachable again; running',
      ]);
      expect(problems(), 'no transaction was attempted, so none failed').toHaveLength(1);
      expect(f.status().checkpoint).toBe(head.toString());

      // Outcomes appended after the outage arrive, and every outcome is there exactly once (read_committed).
      const appended = Date.now();
      await appendWorkload(store, contacts, 30);
      const head2 = (await store.headPosition())!;
      expect(await f.waitFor(head2, 60_000), logger.lines.join('\n')).toBe(true);
      at.forwardedIn = Date.now() - appended;
      expect(f.status()).toMatchObject({ state: 'running', checkpoint: head2.toString() });
      const events = await allEvents(store);
      const expected = events.filter((e) => e.type === 'ContactEnded' || e.type === 'EndContactRejected').length;
      const received = await readTopic(kafka, n.topic, { timeoutMs: 30_000, until: (r) => r.length >= expected });
      const report = checkExactlyOnce(events, received);
      expect(report).toEqual({ ...report, missing: [], duplicated: [], unexpected: [], outOfOrder: [], malformed: [] });
      expect(report.received).toBe(70);
      console.info(
        `idle probe test (ms): ${JSON.stringify(at)}; lastError: ${f.status().lastError}; ${logger.lines.length} log lines`,
      );
    }, 240_000);
  });
});
