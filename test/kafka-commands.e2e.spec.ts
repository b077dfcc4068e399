/**
 * EndContact over Kafka (docs/design.md, Kafka) against the real service process and a real broker: a command on the commands
 * topic goes through the same handler as HTTP and is answered on the results topic keyed by commandId, in the
 * Studio action shape; every branch round-trips; malformed records get a Default/InvalidCommand answer AND a
 * dead-letter copy of their original bytes (less the securityUser), and the consumer keeps going. A command sent
 * before the service first started is answered; a graceful stop leaves the group with every offset committed, and
 * the restarted service answers what was sent meanwhile, nothing twice. Topic names are unique per run.
 */
import Database from 'better-sqlite3';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Consumer, Kafka as KafkaClient, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { waitFor, withKafka } from './harness/suites.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

const { Kafka, logLevel, Partitioners } = kafkajs;
const SUITE = 'kafka commands e2e';

type Received = {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
};
type ResultBody = {
  commandId: string | null;
  contactId: string | null;
  branch: string;
  condition: string;
  outputs: Record<string, string>;
  error?: { code: string; message: string };
};
type History = { events: Array<{ type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }> };

await withKafka(SUITE, (broker) => {
  const suffix = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  const topics = {
    commands: `e2e.commands.${suffix}`,
    results: `e2e.command-results.${suffix}`,
    deadLetter: `e2e.commands.dlq.${suffix}`,
  };
  const groupId = `contact-orchestrator:${topics.commands}`;
  const earlyCommandId = `cmd-early-${suffix}`;
  const WAIT_MS = 20_000;

  let service: ServiceProcess;
  let api: OrchestratorClient;
  let kafka: KafkaClient;
  let producer: Producer;
  let reader: Consumer;
  let bu: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;
  const received: Received[] = [];

  const send = async (
    value: Buffer | string | null,
    options: { key?: string; headers?: Record<string, string> } = {},
  ) => {
    await producer.send({
      topic: topics.commands,
      messages: [{ key: options.key ?? null, value, ...(options.headers ? { headers: options.headers } : {}) }],
    });
  };
  const command = (body: Record<string, unknown>, options: { headers?: Record<string, string> } = {}) =>
    send(JSON.stringify(body), { key: String(body['commandId'] ?? randomUUID()), ...options });

  const resultRecord = (key: string) =>
    waitFor(
      () => received.find((r) => r.topic === topics.results && r.key?.toString() === key),
      WAIT_MS,
      `a result keyed ${key}`,
    );
  const result = async (key: string) => JSON.parse((await resultRecord(key)).value!.toString()) as ResultBody;
  const deadLetter = (key: string) =>
    waitFor(
      () => received.find((r) => r.topic === topics.deadLetter && r.key?.toString() === key),
      WAIT_MS,
      `a dead-letter record keyed ${key}`,
    );
  const history = async (contactId: string) =>
    (await api.request<History>('GET', `/v1/contacts/${contactId}/history`)).body.events;
  const state = async (contactId: string) => (await api.request('GET', `/v1/contacts/${contactId}`)).body['state'];
  const refusalInLog = (contactId: string): { metadata: string } | undefined => {
    const db = new Database(join(service.dataDir, 'events.db'), { readonly: true });
    try {
      return db
        .prepare(`SELECT metadata FROM events WHERE type = 'EndContactRejected' AND data->>'contactId' = ?`)
        .get(contactId) as { metadata: string } | undefined;
    } finally {
      db.close();
    }
  };

  const env = {
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_TOPIC_COMMANDS: topics.commands,
    KAFKA_TOPIC_COMMAND_RESULTS: topics.results,
    KAFKA_TOPIC_DEAD_LETTER: topics.deadLetter,
    // Every anonymous refusal of this file is asserted, so the per-client bound is raised here.
    ANONYMOUS_REFUSALS_PER_MINUTE: '1000',
  };
  const joined = (of: ServiceProcess) =>
    waitFor(
      () => (/EndContact commands consumer joined group/.test(of.output()) ? true : undefined),
      60_000,
      'the service to join the commands consumer group (is KafkaCommandsService started by the Lifecycle of app.module.ts?)',
    );

  describe(`${SUITE} (${broker.source}, ${broker.brokers.join(',')})`, () => {
    beforeAll(async () => {
      kafka = new Kafka({ clientId: `e2e-${suffix}`, brokers: broker.brokers, logLevel: logLevel.NOTHING });
      producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      // The commands and results topics have one partition each, so that answers are read in the order they were
      // written (the restart test relies on it); the service creates the dead-letter topic at start.
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [topics.commands, topics.results].map((topic) => ({ topic, numPartitions: 1 })),
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
      // Before the service (and its consumer group) exists: answered once it runs.
      await command({ commandId: earlyCommandId, contactId: '8888', securityUser: 'not-a-token' });

      service = await startServiceProcess({ env });
      // Fails with the reason when the service was built without the Kafka commands consumer wired in. A fresh broker's
      // group coordinator may still be loading: the consumer then restarts (kafkajs' backoff) before it joins.
      await joined(service);
      api = new OrchestratorClient(service.url, service.platformToken);
      bu = await api.seedBusinessUnit('bu-kafka');

      // One reader follows results and dead letters from the start.
      reader = kafka.consumer({ groupId: `e2e-reader-${suffix}` });
      await reader.connect();
      await reader.subscribe({ topics: [topics.results, topics.deadLetter], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ topic, partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {}))
            headers[name] = String(Array.isArray(value) ? value[0] : value);
          received.push({ topic, partition, offset: message.offset, key: message.key, value: message.value, headers });
        },
      });
    });

    afterAll(async () => {
      await reader?.disconnect();
      await producer?.disconnect();
      const code = await service?.stop();
      if (service) removeDataDir(service.dataDir);
      await broker.stop();
      expect(code).toBe(0);
    });

    it('a command sent before the service first started is answered through the handler (a new group reads from the beginning)', async () => {
      expect(await result(earlyCommandId)).toMatchObject({
        commandId: earlyCommandId,
        contactId: '8888',
        branch: 'OnInvalidSecurityUser',
        error: { code: 'InvalidSecurityUser' },
      });
    });

    it('OnSuccess: ends the contact, answers keyed by commandId with TerminateScript, correlation-id carried over', async () => {
      const contactId = await api.startContact('bu-kafka', 'Phone');
      const commandId = `cmd-ok-${suffix}`;
      await command(
        { commandId, contactId, securityUser: bu.ender },
        { headers: { 'correlation-id': `corr-${suffix}` } },
      );
      const record = await resultRecord(commandId);
      expect(record.headers['correlation-id']).toBe(`corr-${suffix}`);
      expect(JSON.parse(record.value!.toString())).toEqual({
        commandId,
        contactId,
        branch: 'OnSuccess',
        condition: 'OnSuccess',
        outputs: { __DISCONNECTREASON: 'TerminateScript' },
      });
      await expect.poll(() => state(contactId), { timeout: WAIT_MS, message: 'the view of the contact' }).toBe('Ended');
      const ended = await waitFor(
        async () => (await history(contactId)).find((e) => e.type === 'ContactEnded'),
        WAIT_MS,
        'ContactEnded in the history',
      );
      expect(ended.metadata).toMatchObject({
        source: 'kafka',
        commandId,
        correlationId: `corr-${suffix}`,
        schemaVersion: 1,
      });
      expect(ended.data).toMatchObject({ contactId, endedBy: bu.enderId, disconnectReason: 'TerminateScript' });
    });

    it('a redelivered command gets the same answer and ends nothing twice', async () => {
      const contactId = await api.startContact('bu-kafka', 'Chat');
      const commandId = `cmd-twice-${suffix}`;
      await command({ commandId, contactId, securityUser: bu.ender });
      await resultRecord(commandId);
      await command({ commandId, contactId, securityUser: bu.ender });
      await waitFor(
        () =>
          received.filter((r) => r.topic === topics.results && r.key?.toString() === commandId).length === 2
            ? true
            : undefined,
        WAIT_MS,
        'the second answer',
      );
      const answers = received
        .filter((r) => r.topic === topics.results && r.key?.toString() === commandId)
        .map((r) => JSON.parse(r.value!.toString()) as ResultBody);
      expect(answers.map((a) => a.branch)).toEqual(['OnSuccess', 'OnSuccess']);
      const events = await waitFor(
        async () => {
          const all = await history(contactId);
          return all.some((e) => e.type === 'ContactEnded') ? all : undefined;
        },
        WAIT_MS,
        'ContactEnded in the history',
      );
      expect(events.filter((e) => e.type === 'ContactEnded')).toHaveLength(1);
    });

    it('OnInvalidSecurityUser: a forged token; correlation-id defaults to the commandId; the contact stays Active', async () => {
      const contactId = await api.startContact('bu-kafka', 'Email');
      const commandId = `cmd-badsu-${suffix}`;
      await command({ commandId, contactId, securityUser: 'not-a-token' });
      const record = await resultRecord(commandId);
      expect(record.headers['correlation-id']).toBe(commandId);
      expect(JSON.parse(record.value!.toString())).toMatchObject({
        commandId,
        contactId,
        branch: 'OnInvalidSecurityUser',
        condition: 'OnInvalidSecurityUser',
        outputs: {},
        error: { code: 'InvalidSecurityUser' },
      });
      expect(await state(contactId)).toBe('Active');
      // Anonymous: recorded in the audit stream (the log), not in the contact's history.
      const refusal = await waitFor(async () => refusalInLog(contactId), WAIT_MS, 'the refusal in the audit stream');
      expect(JSON.parse(refusal.metadata)).toMatchObject({ source: 'kafka', commandId });
      expect((await history(contactId)).some((e) => e.type === 'EndContactRejected')).toBe(false);
    });

    it('OnUnauthorized: an agent without Contacts.End', async () => {
      const contactId = await api.startContact('bu-kafka', 'SMS');
      const commandId = `cmd-viewer-${suffix}`;
      await command({ commandId, contactId, securityUser: bu.viewer });
      expect(await result(commandId)).toMatchObject({
        commandId,
        contactId,
        branch: 'OnUnauthorized',
        condition: 'OnUnauthorized',
        outputs: {},
        error: { code: 'Unauthorized' },
      });
      expect(await state(contactId)).toBe('Active');
    });

    it('OnInvalidContactID: malformed, unknown, and already ended', async () => {
      const endedId = await api.startContact('bu-kafka', 'WorkItem');
      expect((await api.endContact(endedId, bu.ender)).status).toBe(200);
      const cases = [
        { contactId: '12a', message: /decimal string/ },
        { contactId: '9999999999999999', message: /not found/ },
        { contactId: endedId, message: /not active/ },
      ];
      for (const [i, c] of cases.entries())
        await command({ commandId: `cmd-invalid-${i}-${suffix}`, contactId: c.contactId, securityUser: bu.ender });
      for (const [i, c] of cases.entries()) {
        const answer = await result(`cmd-invalid-${i}-${suffix}`);
        expect(answer).toMatchObject({
          contactId: c.contactId,
          branch: 'OnInvalidContactID',
          condition: 'OnInvalidContactID',
          outputs: {},
          error: { code: 'InvalidContactID' },
        });
        expect(answer.error!.message).toMatch(c.message);
      }
    });

    describe('malformed records: a Default/InvalidCommand answer and a dead-letter copy; the consumer goes on', () => {
      it('broken JSON: answered under the record key, copied byte for byte with its headers', async () => {
        const key = `bad-json-${suffix}`;
        const raw = Buffer.from('{"commandId": "x", "contactId": ');
        await send(raw, { key, headers: { 'correlation-id': `corr-bad-${suffix}`, 'x-origin': 'e2e' } });
        const answer = await resultRecord(key);
        expect(answer.headers['correlation-id']).toBe(`corr-bad-${suffix}`);
        const body = JSON.parse(answer.value!.toString()) as ResultBody;
        expect(body).toMatchObject({
          commandId: null,
          contactId: null,
          branch: 'Default',
          condition: 'Default',
          outputs: {},
          error: { code: 'InvalidCommand' },
        });
        expect(body.error!.message).toMatch(/^value is not valid JSON/);
        const copy = await deadLetter(key);
        expect(copy.value!.equals(raw)).toBe(true);
        expect(copy.headers).toMatchObject({
          'correlation-id': `corr-bad-${suffix}`,
          'x-origin': 'e2e',
          'dlq-source-topic': topics.commands,
          'dlq-partition': expect.stringMatching(/^\d+$/),
          'dlq-offset': expect.stringMatching(/^\d+$/),
        });
        expect(copy.headers['dlq-reason']).toMatch(/^InvalidCommand: value is not valid JSON/);
      });

      it('valid JSON with a missing field: answered under its commandId, naming the field', async () => {
        const commandId = `cmd-missing-${suffix}`;
        const raw = JSON.stringify({ commandId, securityUser: bu.ender });
        await send(raw, { key: commandId });
        expect(await result(commandId)).toMatchObject({
          commandId,
          branch: 'Default',
          error: { code: 'InvalidCommand', message: 'contactId is required' },
        });
        const copy = await deadLetter(commandId);
        // The original less its credential.
        expect(copy.value!.toString()).toBe(JSON.stringify({ commandId }));
        expect(copy.value!.toString()).not.toContain(bu.ender);
        expect(copy.headers['dlq-redacted']?.toString()).toBe('securityUser');
        expect(copy.headers['dlq-reason']).toBe('InvalidCommand: contactId is required');
      });

      it('an unknown field: refused, naming it, and nothing is executed', async () => {
        const contactId = await api.startContact('bu-kafka', 'Voicemail');
        const commandId = `cmd-unknown-${suffix}`;
        await command({ commandId, contactId, securityUser: bu.ender, priority: 'high' });
        expect(await result(commandId)).toMatchObject({
          commandId,
          contactId,
          branch: 'Default',
          error: {
            code: 'InvalidCommand',
            message: 'priority is not a known field (expected: commandId, contactId, securityUser)',
          },
        });
        expect((await deadLetter(commandId)).headers['dlq-reason']).toMatch(
          /^InvalidCommand: priority is not a known field/,
        );
        expect(await state(contactId)).toBe('Active');
      });

      it('not an object, no key: answered under a generated key, dead-lettered with a null key', async () => {
        const before = received.filter((r) => r.topic === topics.deadLetter).length;
        await send('[1,2,3]');
        const copy = await waitFor(
          () => received.filter((r) => r.topic === topics.deadLetter)[before],
          WAIT_MS,
          'the dead-letter copy of [1,2,3]',
        );
        expect(copy.key).toBeNull();
        expect(copy.value!.toString()).toBe('[1,2,3]');
        const answer = await waitFor(
          () =>
            received.find(
              (r) =>
                r.topic === topics.results && JSON.parse(r.value!.toString()).error?.message?.includes('got an array'),
            ),
          WAIT_MS,
          'the answer to [1,2,3]',
        );
        expect(answer.key!.toString()).toMatch(/^[0-9a-f-]{36}$/);
      });

      it('after all of them a valid command still works: no crash-loop', async () => {
        const contactId = await api.startContact('bu-kafka', 'Digital');
        const commandId = `cmd-after-${suffix}`;
        await command({ commandId, contactId, securityUser: bu.ender });
        expect(await result(commandId)).toMatchObject({
          commandId,
          contactId,
          branch: 'OnSuccess',
          outputs: { __DISCONNECTREASON: 'TerminateScript' },
        });
        expect(service.child.exitCode).toBeNull();
        expect(service.output()).not.toMatch(/consumer crashed|Error when calling eachMessage/);
        // Only the malformed records were dead-lettered.
        expect(received.filter((r) => r.topic === topics.deadLetter)).toHaveLength(4);
        // And the service's group committed past every record of the topic, malformed ones included.
        const admin = kafka.admin();
        await admin.connect();
        try {
          const high = (await admin.fetchTopicOffsets(topics.commands)).map((p) => [p.partition, p.high]).sort();
          const committed = await waitFor(
            async () => {
              const [offsets] = await admin.fetchOffsets({
                groupId,
                topics: [topics.commands],
              });
              const now = offsets!.partitions.map((p) => [p.partition, p.offset]).sort();
              return JSON.stringify(now) === JSON.stringify(high) ? now : undefined;
            },
            WAIT_MS,
            `the service's group to commit up to ${JSON.stringify(high)}`,
          );
          expect(committed).toEqual(high);
        } finally {
          await admin.disconnect();
        }
      });
    });

    it('a graceful stop leaves the group with every offset committed; restarted, the service answers what was sent meanwhile, and nothing twice', async () => {
      const contactId = await api.startContact('bu-kafka', 'Phone');
      const answered = received.filter((r) => r.topic === topics.results).length;
      expect(await service.stop()).toBe(0);
      const admin = kafka.admin();
      await admin.connect();
      try {
        // Left at once, not after a session timeout: the consumer was stopped, not abandoned.
        const { groups } = await admin.describeGroups([groupId]);
        expect(groups[0]).toMatchObject({ groupId, state: 'Empty', members: [] });
        const high = (await admin.fetchTopicOffsets(topics.commands)).map((p) => [p.partition, p.high]);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.commands] });
        expect(committed!.partitions.map((p) => [p.partition, p.offset])).toEqual(high);
      } finally {
        await admin.disconnect();
      }

      const commandId = `cmd-while-down-${suffix}`;
      await command({ commandId, contactId, securityUser: bu.ender });
      service = await startServiceProcess({ dataDir: service.dataDir, platformToken: service.platformToken, env });
      await joined(service);
      api = new OrchestratorClient(service.url, service.platformToken);
      expect(await result(commandId)).toMatchObject({ commandId, contactId, branch: 'OnSuccess' });
      // One partition: an earlier command read again would have been answered before this one.
      expect(received.filter((r) => r.topic === topics.results)).toHaveLength(answered + 1);
      await expect.poll(() => state(contactId), { timeout: WAIT_MS, message: 'the view of the contact' }).toBe('Ended');
    });
  });
});
