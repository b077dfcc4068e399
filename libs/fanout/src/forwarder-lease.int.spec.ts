// Several forwarders of one deployment (one transactional ID, one checkpoint) against a REAL Kafka broker: only the
// holder of the lease forwards, the others stand by; the lease stays with its holder when another instance joins,
// moves at once on a graceful stop and after the session timeout when the holder is SIGKILLed; every outcome is
// forwarded exactly once throughout. docs/decisions.md (Kafka).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor, withKafka } from '#harness/suites';
import type { SqliteEventStore } from '#event-store';
import type { OutcomeForwarder } from './outcome-forwarder.js';
import { allEvents, appendWorkload, checkExactlyOnce, contactIdsFor, readTopic } from './testing/outcome-fixtures.js';
import {
  afterEachCleanups,
  deploymentNames,
  forwarders,
  recordingLogger,
  tempStores,
} from './testing/forwarder-test-kit.js';

const { Kafka, logLevel } = kafkajs;
const SUITE = 'forwarder lease';
const CHILD = fileURLToPath(new URL('./testing/forwarder-child.mjs', import.meta.url));
// The broker's group.min.session.timeout.ms is 6 s by default.
const SESSION_TIMEOUT_MS = 6_000;
const cleanups = afterEachCleanups();
const tempStore = tempStores(cleanups, 'co-lease-');

function deployment(test: string) {
  return {
    ...deploymentNames(test),
    lease: { sessionTimeoutMs: SESSION_TIMEOUT_MS },
    maxBatch: 20,
    lingerMs: 1,
  };
}

await withKafka(SUITE, (broker) => {
  const kafka = new Kafka({ clientId: 'lease-int', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  afterAll(() => broker.stop());
  const forwarder = forwarders(cleanups, broker.brokers, 'lease-int-forwarder');

  async function expectExactlyOnce(store: SqliteEventStore, topic: string): Promise<void> {
    const events = await allEvents(store);
    const expected = events.filter((e) => e.type === 'ContactEnded' || e.type === 'EndContactRejected').length;
    const received = await readTopic(kafka, topic, { timeoutMs: 30_000, until: (r) => r.length >= expected });
    const report = checkExactlyOnce(events, received);
    expect(report).toEqual({ ...report, missing: [], duplicated: [], unexpected: [], outOfOrder: [], malformed: [] });
    expect(report.received).toBe(report.expected);
  }

  const states = (...fs: OutcomeForwarder[]) => fs.map((f) => f.status().state);

  describe(`${SUITE} (${broker.source}, ${broker.brokers.join(',')})`, () => {
    it('one of two forwards and the other stands by; a third joining leaves the lease where it is; a graceful stop hands it over at once', async () => {
      const d = deployment('handover');
      const store = tempStore();
      const contacts = contactIdsFor(30);
      await appendWorkload(store, contacts.slice(0, 10), 40);
      const logs = [recordingLogger(), recordingLogger(), recordingLogger()];
      const a = forwarder(store, d, logs[0]);
      const b = forwarder(store, d, logs[1]);
      a.start();
      b.start();
      await waitFor(() => states(a, b).sort().join() === 'running,standby', 30_000, 'one running, one standby');
      const [holder, standby] = a.status().state === 'running' ? [a, b] : [b, a];
      const holderLog = logs[holder === a ? 0 : 1]!;
      expect(standby.status()).not.toHaveProperty('lag');

      // A third instance (a rolling deploy) joins: the group rebalances, the lease stays with its holder.
      const c = forwarder(store, d, logs[2]);
      c.start();
      await waitFor(() => c.status().state === 'standby', 30_000, 'the third instance standing by');
      await appendWorkload(store, contacts, 60);
      expect(await holder.waitFor((await store.headPosition())!, 30_000)).toBe(true);
      expect(states(holder, standby, c)).toEqual(['running', 'standby', 'standby']);
      expect(holderLog.lines.filter((l) => l.includes('standby'))).toEqual([]);

      // The holder stops: it leaves the group, and one standby holds the lease long before a session timeout.
      const stoppedAt = Date.now();
      await holder.stop();
      await waitFor(
        () => states(standby, c).sort().join() === 'running,standby',
        SESSION_TIMEOUT_MS - 1_000,
        'a standby running before the session timeout',
      );
      expect(Date.now() - stoppedAt).toBeLessThan(SESSION_TIMEOUT_MS);
      await appendWorkload(store, contacts, 60);
      const next = standby.status().state === 'running' ? standby : c;
      expect(await next.waitFor((await store.headPosition())!, 30_000)).toBe(true);
      await expectExactlyOnce(store, d.topic);
    }, 120_000);

    it('a SIGKILLed holder: a standby takes the lease after the session timeout and every outcome is still forwarded once', async () => {
      const d = deployment('killed');
      const store = tempStore();
      const contacts = contactIdsFor(30);
      await appendWorkload(store, contacts, 40);
      const child = spawn(process.execPath, [CHILD, store.file, broker.brokers.join(','), JSON.stringify(d)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitFor(() => /^COMMITTED \d+$/m.test(output), 30_000, 'the child forwarding');

      const standby = forwarder(store, d);
      standby.start();
      await waitFor(() => standby.status().state === 'standby', 30_000, 'the in-process forwarder standing by');
      await appendWorkload(store, contacts, 40);
      expect(output).not.toMatch(/standby/);

      child.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      await appendWorkload(store, contacts, 40);
      await waitFor(
        () => standby.status().state === 'running',
        3 * SESSION_TIMEOUT_MS,
        "the standby running after the holder's death",
      );
      // The coordinator waits out the dead member's session before handing its partition over.
      expect(Date.now() - killedAt).toBeGreaterThan(SESSION_TIMEOUT_MS / 2);
      expect(await standby.waitFor((await store.headPosition())!, 30_000)).toBe(true);
      await expectExactlyOnce(store, d.topic);
    }, 120_000);
  });
});
