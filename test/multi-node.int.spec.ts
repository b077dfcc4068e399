/**
 * A real multi-node deployment: PostgreSQL (the shared log), Kafka, and three orchestrator instances, each with its
 * own views; on containers (each instance its own host) where a Docker engine runs, else three processes on loopback
 * and a PostgreSQL server from Debian's package (test/harness/multi-node.ts). Under load through all three: one
 * killed, one cut off from PostgreSQL for 20 s, PostgreSQL restarted. Then: no acknowledged end lost, exactly one end
 * per contact under 25-way races spread across the instances, every outcome once on Kafka (one forwarder at a time:
 * the lease), and every instance's views verified against the log (`views:verify`) and answering the same state for
 * every contact. docs/operations.md, "Several instances on PostgreSQL".
 */
import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, vi } from 'vitest';
import { dockerEngine } from './harness/containers.js';
import { containerCluster, processCluster, type Cluster } from './harness/multi-node.js';
import { waitFor } from './harness/suites.js';

const { Kafka, logLevel } = kafkajs;
const MINUTE = 60_000;
// MULTI_NODE_SHAPE=processes runs the loopback shape even where an engine runs (CI runs both shapes).
const engine = await dockerEngine();
const onContainers = engine.ok && process.env.MULTI_NODE_SHAPE !== 'processes';
const SUITE = `multi-node on PostgreSQL (${onContainers ? 'containers' : `processes${engine.ok ? '' : `: ${engine.reason}`}`})`;

type Outcome = { eventId: string; type: string; data: { contactId: string } };
type Health = { details: { fanout: { state: string } } };

describe(SUITE, () => {
  let cluster: Cluster;
  let consumer: Consumer | undefined;
  const received = new Map<string, Outcome>();
  const apis = (): Cluster['apis'] => cluster.apis;

  beforeAll(async () => {
    cluster = onContainers ? await containerCluster() : await processCluster();
    console.info(`multi-node: ${cluster.shape}`);
    consumer = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING }).consumer({
      groupId: `${cluster.outcomesTopic}.reader`,
      readUncommitted: false,
    });
    await consumer.connect();
    await vi.waitFor(() => consumer!.subscribe({ topic: cluster.outcomesTopic, fromBeginning: true }), {
      timeout: 30_000,
      interval: 200,
    });
    // By partition and offset: a record handed twice after a rebalance is one record; the topic holding two is not.
    await consumer.run({
      eachMessage: async ({ partition, message }) =>
        void received.set(`${partition}:${message.offset}`, JSON.parse(message.value!.toString()) as Outcome),
    });
  }, 40 * MINUTE);

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await cluster?.close();
  });

  const describeAll = () => onTestFailed(async () => console.error(await cluster.dump()));

  const sql = (query: string) => cluster.sql(query);

  it(
    'one forwarder among three instances; 25-way races spread across them end each contact exactly once',
    async () => {
      describeAll();
      const states = async () =>
        (await Promise.all(apis().map((api) => api.request<Health>('GET', '/health')))).map(
          (h) => h.body.details.fanout.state,
        );
      await waitFor(
        async () => ((await states()).sort().join() === 'running,standby,standby' ? true : undefined),
        MINUTE,
        'one instance forwarding, two standing by',
      );

      const { ender } = await apis()[0]!.seedBusinessUnit('bu-multi');
      const contacts = await Promise.all(
        Array.from({ length: 40 }, (_, i) => apis()[i % 3]!.startContact('bu-multi', 'Phone')),
      );
      // 8 contacts at a time, 200 requests in flight: under the 256 sockets one client address may hold.
      const answers: Array<{ contactId: string; status: number }> = [];
      for (let from = 0; from < contacts.length; from += 8)
        answers.push(
          ...(await Promise.all(
            contacts.slice(from, from + 8).flatMap((contactId, c) =>
              Array.from({ length: 25 }, async (_, k) => ({
                contactId,
                status: (await apis()[(c + k) % 3]!.endContact(contactId, ender)).status,
              })),
            ),
          )),
        );
      for (const contactId of contacts) {
        const statuses = answers.filter((a) => a.contactId === contactId).map((a) => a.status);
        expect(
          statuses.filter((s) => s === 200),
          contactId,
        ).toHaveLength(1);
        expect(
          statuses.filter((s) => s !== 200 && s !== 409),
          contactId,
        ).toEqual([]);
      }
      const ends = await sql(
        `SELECT stream_id, count(*) FROM events WHERE type = 'ContactEnded' AND stream_id = ANY(ARRAY[${contacts
          .map((c) => `'contact-${c}'`)
          .join(',')}]) GROUP BY stream_id`,
      );
      expect(ends).toHaveLength(contacts.length);
      expect(ends.filter(([, n]) => n !== '1')).toEqual([]);
    },
    10 * MINUTE,
  );

  it(
    'under load through all three: one killed, one cut off from PostgreSQL for 20 s, PostgreSQL restarted: no acknowledged end lost, every outcome once on Kafka, every view faithful',
    async () => {
      describeAll();
      const { ender } = await apis()[1]!.seedBusinessUnit('bu-faults');
      const live = new Set([0, 1, 2]);
      const acknowledged: string[] = [];
      const refused: Array<{ contactId: string; message: string }> = [];
      const answered = new Map<number, number>();
      let loading = true;
      let turn = 0;
      // 9 workers: each starts a contact on one live instance and ends it on one; an end answered 200 is kept.
      const load = Promise.all(
        Array.from({ length: 9 }, async () => {
          while (loading) {
            const alive = [...live];
            // Every (starter, ender) pair of live instances in turn, the same instance twice included: with one
            // instance killed and another cut off, the last one still carries whole starts and ends.
            const pair = turn++;
            const starter = apis()[alive[pair % alive.length]!]!;
            const ender_ = apis()[alive[Math.floor(pair / alive.length) % alive.length]!]!;
            const contactId = await starter.startContact('bu-faults', 'Chat').catch(() => undefined);
            if (contactId === undefined) continue;
            const answer = await ender_.endContact(contactId, ender).catch(() => undefined);
            if (answer) answered.set(answer.status, (answered.get(answer.status) ?? 0) + 1);
            if (answer?.status === 200) acknowledged.push(contactId);
            if (answer?.status === 503)
              refused.push({
                contactId,
                message: (answer.body as { error?: { message?: string } }).error?.message ?? '',
              });
          }
        }),
      );
      const acknowledgedReaches = (n: number, what: string) =>
        waitFor(() => acknowledged.length >= n, 2 * MINUTE, `${n} acknowledged ends ${what}`);
      try {
        await acknowledgedReaches(100, 'before the kill');
        // The forwarder's holder, if it is one of them, dies too: a standby takes the lease after its session.
        live.delete(2);
        await cluster.kill(2);
        await acknowledgedReaches(acknowledged.length + 100, 'after the kill');

        // Instance 2 (index 1) loses PostgreSQL for 20 s: its ends answer 503 (nothing written), the others go on.
        await cluster.cutFromPostgres(1);
        const cutAt = acknowledged.length;
        await new Promise((resolve) => setTimeout(resolve, 20_000)); // the fault's duration, not a synchronisation
        await cluster.reconnectToPostgres(1);
        expect(acknowledged.length, 'ends acknowledged while one instance was cut off').toBeGreaterThan(cutAt);
        await waitFor(
          async () => ((await apis()[1]!.request('GET', '/health')).status === 200 ? true : undefined),
          MINUTE,
          'the cut-off instance healthy again',
        );

        // PostgreSQL restarts under the load: every instance answers 503 meanwhile, then writes again.
        await cluster.restartPostgres();
        await acknowledgedReaches(acknowledged.length + 100, 'after PostgreSQL restarted');
      } finally {
        loading = false;
        await load;
      }
      console.info(
        `multi-node load: ${acknowledged.length} acknowledged ends; answers by status ${JSON.stringify(Object.fromEntries(answered))}`,
      );
      expect([...answered.keys()].filter((s) => s !== 200 && s !== 503 && s !== 409)).toEqual([]);

      // The killed instance starts again: it follows the log from its own views' checkpoint.
      await cluster.start(2);

      // No acknowledged end lost: each is a ContactEnded in the log, exactly one per contact.
      const ended = new Map(
        (await sql(`SELECT stream_id, count(*) FROM events WHERE type = 'ContactEnded' GROUP BY stream_id`)).map(
          ([stream, n]) => [stream!, n!],
        ),
      );
      expect(acknowledged.filter((c) => !ended.has(`contact-${c}`))).toEqual([]);
      expect([...ended.values()].filter((n) => n !== '1')).toEqual([]);
      // A 503 says nothing was written, unless it says the outcome is unknown.
      expect(
        refused.filter((r) => ended.has(`contact-${r.contactId}`) && !/outcome of this end is unknown/.test(r.message)),
        '503s whose end was written nonetheless',
      ).toEqual([]);

      // Every outcome once on Kafka, once the forwarder (whichever instance holds the lease) reaches the log's end.
      const outcomes = (
        await sql(`SELECT event_id FROM events WHERE type IN ('ContactEnded','EndContactRejected') ORDER BY position`)
      ).map(([id]) => id!);
      await expect
        .poll(() => new Set([...received.values()].map((o) => o.eventId)).size, {
          timeout: 3 * MINUTE,
          interval: 250,
        })
        .toBe(outcomes.length);
      const ids = [...received.values()].map((o) => o.eventId);
      expect(ids.length, 'no outcome twice on Kafka').toBe(new Set(ids).size);
      expect([...ids].sort()).toEqual([...outcomes].sort());
      const forwarding = (await Promise.all(apis().map((api) => api.request<Health>('GET', '/health')))).map(
        (h) => h.body.details.fanout.state,
      );
      expect(
        forwarding.filter((s) => s === 'running'),
        `forwarder states ${forwarding.join(', ')}`,
      ).toHaveLength(1);

      // Every instance's views: faithful to the log, and the same state for every acknowledged contact.
      for (let i = 0; i < 3; i++) {
        const verdict = await cluster.verifyViews(i);
        expect(verdict, `views:verify of instance ${i + 1}`).toMatch(/^identical: /);
      }
      const sample = acknowledged.filter((_, i) => i % 7 === 0);
      for (const api of apis()) {
        await expect
          .poll(
            async () => {
              const states = await Promise.all(
                sample.map(async (c) => (await api.request<{ state: string }>('GET', `/v1/contacts/${c}`)).body.state),
              );
              return states.filter((s) => s !== 'Ended').length;
            },
            { timeout: MINUTE, interval: 500 },
          )
          .toBe(0);
      }
    },
    20 * MINUTE,
  );
});
