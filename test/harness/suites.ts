/** What every real-broker suite repeats: resolve the broker, or declare the suite skipped with its reason; and waits. */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { describe, it, vi } from 'vitest';
import { resolveKafka, type KafkaResolution } from './kafka.js';
import { printSkip } from './skip.js';

export type ReadyKafka = Extract<KafkaResolution, { kind: 'ready' }>;

/** Calls `body` with a real broker, or registers one skipped test whose name carries the printed reason. */
export async function withKafka(suite: string, body: (broker: ReadyKafka) => void): Promise<void> {
  const resolution = await resolveKafka();
  if (resolution.kind === 'skipped') {
    printSkip(suite, resolution.reason);
    describe.skip(`${suite} (skipped: ${resolution.reason})`, () => it('needs a Kafka broker', () => {}));
    return;
  }
  body(resolution);
}

/** Polls `probe` every 50 ms until it gives a value (not undefined, not false); throws naming `what` on timeout. */
export function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined || value === false)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      return value;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

/** The header of a barrier record: a consumer of a topic a test sends barriers to skips the records that carry it. */
export const BARRIER_HEADER = 'e2e-barrier';

/**
 * Sends a barrier record to every partition of `topic` and resolves once `seen` (the barrier ids the test's consumer
 * has read) holds it for each: a read_committed consumer has then read everything committed to the topic before, so a
 * duplicate already sent would show. What tests did with a fixed wait "for any extra".
 */
export async function barrier(kafka: Kafka, topic: string, seen: () => string[], timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  let partitions: number[];
  try {
    partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map((p) => p.partitionId);
  } finally {
    await admin.disconnect();
  }
  const id = randomUUID();
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: partitions.map((partition) => ({ partition, value: id, headers: { [BARRIER_HEADER]: id } })),
    });
  } finally {
    await producer.disconnect();
  }
  await waitFor(
    () => seen().filter((s) => s === id).length === partitions.length,
    timeoutMs,
    `the barrier on each of the ${partitions.length} partitions of ${topic}`,
  );
}
