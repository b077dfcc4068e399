/**
 * Kafka plumbing shared by the two Kafka rows: a quiet client, fresh topics per run (so no earlier run or other
 * user of the same broker is read or disturbed) and their removal afterwards.
 */
import kafkajs from 'kafkajs';
import type { Admin, Kafka } from 'kafkajs';
import type { Log } from '#runtime';
import { progress } from './support.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

export function kafkaClient(brokers: string[], clientId: string): Kafka {
  return new KafkaClient({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
}

/** The forwarder's start/stop chatter stays out of the output; its warnings and errors are progress lines. */
const toProgress = (first: string | object, message?: string): void =>
  progress(`forwarder: ${typeof first === 'string' ? first : message}`);
export const forwarderLogger: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: toProgress,
  error: toProgress,
};

export type TopicSpec = { topic: string; partitions: number; compacted?: boolean };

/** Creates the topics and connects an admin; remove() deletes them (best effort) and disconnects. */
export async function freshTopics(
  kafka: Kafka,
  specs: TopicSpec[],
): Promise<{ admin: Admin; remove: () => Promise<void> }> {
  const admin = kafka.admin();
  await admin.connect();
  const remove = async (): Promise<void> => {
    await admin
      .deleteTopics({ topics: specs.map((s) => s.topic), timeout: 10_000 })
      .catch((error: unknown) => progress(`could not delete bench topics: ${String(error)}`));
    await admin.disconnect().catch(() => undefined);
  };
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: specs.map(({ topic, partitions, compacted }) => ({
        topic,
        numPartitions: partitions,
        replicationFactor: -1,
        ...(compacted ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
      })),
    });
    return { admin, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
