/**
 * The forwarder's checkpoint lives in Kafka, in a compacted topic (key = forwarder name, value = {position}), and
 * is produced inside the same transaction as the outcomes it covers: it is committed exactly when they are.
 *
 * Reading it back must see committed data only, so it goes through a read_committed consumer, up to the last
 * stable offset (LSO; admin ListOffsets is read_committed in kafkajs). Call it only after the transactional
 * producer has fenced its predecessor: then none of our own transactions is still open below the LSO.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Kafka, Message } from 'kafkajs';

const { Partitioners } = kafkajs;

export interface CheckpointValue {
  position: string;
}

export function checkpointMessage(name: string, position: bigint): Message {
  const value: CheckpointValue = { position: position.toString(10) };
  return { key: name, value: JSON.stringify(value) };
}

/** undefined for a tombstone (a deliberate reset: replay from the start). */
export function parseCheckpoint(value: Buffer | null): bigint | undefined {
  if (value === null) return undefined;
  const parsed = JSON.parse(value.toString('utf8')) as Partial<CheckpointValue>;
  if (typeof parsed.position !== 'string' || !/^\d{1,40}$/.test(parsed.position)) {
    throw new Error(`Malformed checkpoint record: ${value.toString('utf8').slice(0, 200)}`);
  }
  return BigInt(parsed.position);
}

export interface ReadCheckpointOptions {
  topic: string;
  /** The record key: the forwarder's name. */
  name: string;
  timeoutMs: number;
  /** Records read back from the end first; widened ×4 until the key is found or the log start is reached. */
  window?: number;
}

type Found = { value: Buffer | null; offset: bigint } | undefined;

/** The last committed checkpoint of `name`, or undefined when it never committed one. */
export async function readCommittedCheckpoint(
  kafka: Kafka,
  admin: Admin,
  options: ReadCheckpointOptions,
): Promise<bigint | undefined> {
  const { topic, name, timeoutMs } = options;
  const partition = await partitionOf(admin, topic, name);
  const { low, stable } = await offsetsOf(admin, topic, partition);
  if (stable <= low) return undefined;
  const window = BigInt(options.window ?? 256);
  let end = stable;
  let start = end - window > low ? end - window : low;
  let width = window;
  for (;;) {
    const { found, highWatermark } = await scan(kafka, {
      topic,
      partition,
      key: name,
      from: start,
      to: end,
      timeoutMs,
    });
    // Records above the LSO are another producer's open transaction (ours are fenced): wait until they are decided,
    // so a checkpoint of ours committed after that transaction began is not missed.
    const later =
      end === stable && highWatermark > stable
        ? await readAbove(kafka, admin, { ...options, partition, from: stable, until: highWatermark })
        : undefined;
    const last = later ?? found;
    if (last !== undefined) return parseCheckpoint(last.value);
    if (start === low) return undefined;
    end = start;
    width *= 4n;
    start = end - width > low ? end - width : low;
  }
}

/** The partition the producer's default (murmur2, Java-compatible) partitioner picks for `key`. */
async function partitionOf(admin: Admin, topic: string, key: string): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const partitions = metadata.topics[0]?.partitions ?? [];
  if (partitions.length === 0) throw new Error(`Checkpoint topic ${topic} has no partitions`);
  if (partitions.length === 1) return partitions[0]!.partitionId;
  return Partitioners.DefaultPartitioner()({ topic, partitionMetadata: partitions, message: { key, value: null } });
}

async function offsetsOf(admin: Admin, topic: string, partition: number): Promise<{ low: bigint; stable: bigint }> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const p = offsets.find((o) => o.partition === partition);
  if (!p) throw new Error(`No offsets for ${topic}[${partition}]`);
  return { low: BigInt(p.low), stable: BigInt(p.high) };
}

async function readAbove(
  kafka: Kafka,
  admin: Admin,
  options: ReadCheckpointOptions & { partition: number; from: bigint; until: bigint },
): Promise<Found> {
  const deadline = Date.now() + options.timeoutMs;
  let stable = options.from;
  while (stable < options.until) {
    if (Date.now() > deadline)
      throw new Error(
        `${options.topic}[${options.partition}]: an open transaction holds the LSO below ${options.until}`,
      );
    await new Promise((r) => setTimeout(r, 200));
    stable = (await offsetsOf(admin, options.topic, options.partition)).stable;
  }
  const { found } = await scan(kafka, { ...options, key: options.name, to: stable });
  return found;
}

/** Reads [from, to) of one partition with a throwaway read_committed consumer; the last record with `key` wins. */
async function scan(
  kafka: Kafka,
  range: { topic: string; partition: number; key: string; from: bigint; to: bigint; timeoutMs: number },
): Promise<{ found: Found; highWatermark: bigint }> {
  const { topic, partition, key, from, to, timeoutMs } = range;
  let found: Found;
  let highWatermark = to;
  const consumer = kafka.consumer({
    groupId: `checkpoint-reader-${randomUUID()}`,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const caughtUp = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`reading checkpoint ${topic}[${partition}] ${from}..${to} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      // Also fires for batches that held only control records or aborted data: the offset still moved.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.partition === partition && BigInt(payload.lastOffset) >= to - 1n) resolve();
      });
      // A retriable crash (e.g. the group coordinator still loading) restarts the consumer from the log start:
      // slower, still correct, and bounded by the timeout.
      consumer.on(consumer.events.CRASH, ({ payload }) => payload.restart || reject(payload.error));
    });
    caughtUp.catch(() => undefined);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.partition !== partition) return;
        const hw = BigInt(batch.highWatermark);
        if (hw > highWatermark) highWatermark = hw;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < from || offset >= to || message.key?.toString('utf8') !== key) continue;
          if (found === undefined || offset > found.offset) found = { value: message.value, offset };
        }
      },
    });
    try {
      consumer.seek({ topic, partition, offset: from.toString(10) });
    } catch {
      // Crashed before the seek (see above): it reads from the start instead.
    }
    await caughtUp;
    return { found, highWatermark };
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
}
