/**
 * npm run fanout:republish -- --from P --to Q [--topic T]
 * Sends the outcomes (ContactEnded, EndContactRejected) of log positions P..Q again to the outcomes topic (or T),
 * with the key, value and headers the forwarder gave them (`event-id` unchanged), in Kafka transactions. The
 * forwarder's checkpoint does not move and the running service's forwarder is not fenced. Needs KAFKA_BROKERS.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { SqliteLogReader } from '#event-store';
import { republishOutcomes, type ReadPage } from '#fanout';
import { loadToolConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { sharedEventStore } from '../apps/orchestrator/src/infrastructure/event-store.provider.js';
import { kafkaClientConfig, kafkaSecurityFailure } from '../apps/orchestrator/src/kafka/kafka-client-config.js';

const { Kafka, logLevel } = kafkajs;

function fail(message: string): never {
  process.stderr.write(`fanout:republish: ${message}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: { from: { type: 'string' }, to: { type: 'string' }, topic: { type: 'string' } },
      strict: true,
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();
const position = (value: string | undefined, name: string): bigint => {
  if (value === undefined) fail(`--${name} is required (a log position)`);
  if (!/^\d{1,40}$/.test(value)) fail(`--${name} must be a log position (decimal), got ${JSON.stringify(value)}`);
  return BigInt(value);
};
const from = position(values.from, 'from');
const to = position(values.to, 'to');
if (from > to) fail(`--from (${from}) must not be after --to (${to})`);
if (values.topic !== undefined && !/^[A-Za-z0-9._-]{1,249}$/.test(values.topic))
  fail(`--topic must be a Kafka topic name, got ${JSON.stringify(values.topic)}`);

const config = loadToolConfiguration(process.env);
if (!config.kafkaBrokers) fail('KAFKA_BROKERS is not set');
const topic = values.topic ?? config.topics.outcomes;

async function openLog(): Promise<{ read: ReadPage; close: () => Promise<void> }> {
  if (config.eventStore !== 'sqlite') {
    const store = await sharedEventStore(config);
    return { read: (after, maxCount) => store.readAll({ after, maxCount }), close: () => store.close() };
  }
  const file = join(config.dataDir, 'events.db');
  if (!existsSync(file)) fail(`${file} does not exist (DATA_DIR=${config.dataDir})`);
  const reader = new SqliteLogReader(file, config.storeTimeoutMs);
  return { read: (after, maxCount) => reader.readAll(after, maxCount), close: async () => reader.close() };
}

const { read, close } = await openLog();
try {
  // The service's brokers, TLS and SASL (KAFKA_SSL*, KAFKA_SASL*), as every client of the service.
  const kafka = new Kafka(kafkaClientConfig(config, 'contact-orchestrator-republish', { logLevel: logLevel.ERROR }));
  const result = await republishOutcomes(
    kafka,
    read,
    { from, to, topic, transactionalId: `${config.forwarderId}.republish` },
    (p) => {
      if (process.stderr.isTTY)
        process.stderr.write(`\rfanout:republish position ${p.position}/${to}, ${p.outcomes} outcomes`);
    },
  );
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.stdout.write(
    `republished ${result.outcomes} outcomes of positions ${from}..${to} to ${topic} in ${result.transactions} transaction(s)\n`,
  );
} catch (error) {
  process.stderr.write(`fanout:republish: ${kafkaSecurityFailure(error, config) ?? (error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await close();
}
