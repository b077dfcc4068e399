/**
 * Row 5a: the Kafka outcome forwarder (libs/fanout) draining a store pre-filled with N outcomes, against a raw
 * kafkajs transactional producer sending the same messages (toOutcomeMessage) with the same batch per
 * transaction to a fresh topic of the same broker. Both timed from their start (connect included) to the last
 * committed transaction; the figures after the first commit are printed beside them.
 */
import { join } from 'node:path';
import type { Kafka, Message } from 'kafkajs';
import { SqliteEventStore } from '#event-store';
import { DEFAULT_OUTCOME_PARTITIONS, OutcomeForwarder, isOutcome, toOutcomeMessage } from '#fanout';
import type { BenchOptions } from './options.js';
import { outcomeEvents } from './event-log.js';
import { forwarderLogger, freshTopics } from './kafka-topics.js';
import { formatInt, inParallel, progress, tempDir } from './support.js';
import { ratioRow, type Row } from './table.js';

export const FORWARDER_FIGURES = [{ figure: 'Kafka forwarder outcomes/s', target: '≥ 0.80×' }] as const;
const MIN_RATIO = 0.8;
// The forwarder's default partition count for the outcomes topic; the raw topic gets the same.
const PARTITIONS = DEFAULT_OUTCOME_PARTITIONS;
const WARM_UP_MESSAGES = 5_000;

type Timing = { seconds: number; steadyPerSecond: number };

async function prefill(store: SqliteEventStore, count: number): Promise<Message[]> {
  await inParallel([...outcomeEvents(count)], 256, async (e) => {
    await store.append(e.streamId, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], {
      expectedRevision: 'any',
    });
  });
  const messages: Message[] = [];
  for (let after: bigint | undefined; ;) {
    const page = await store.readAll({ ...(after !== undefined ? { after } : {}), maxCount: 1_000 });
    if (page.length === 0) return messages;
    for (const event of page) if (isOutcome(event)) messages.push(toOutcomeMessage(event));
    after = page[page.length - 1]!.position;
  }
}

async function rawProducer(
  kafka: Kafka,
  topic: string,
  messages: Message[],
  batch: number,
  transactionalId: string,
  deadline: number,
): Promise<Timing> {
  const started = performance.now();
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    let first: { at: number; sent: number } | undefined;
    for (let from = 0; from < messages.length; from += batch) {
      if (performance.now() > deadline)
        throw new Error('the raw producer did not finish within BENCH_FANOUT_TIMEOUT_SECONDS');
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic, messages: messages.slice(from, from + batch), acks: -1 });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
      first ??= { at: performance.now(), sent: Math.min(batch, messages.length) };
    }
    const finished = performance.now();
    return {
      seconds: (finished - started) / 1000,
      steadyPerSecond: steady(messages.length - first!.sent, first!.at, finished),
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

async function forwarder(
  store: SqliteEventStore,
  brokers: string[],
  topics: { outcomes: string; checkpoints: string },
  batch: number,
  runId: string,
  timeoutMs: number,
): Promise<Timing> {
  const head = (await store.headPosition())!;
  const forwarding = new OutcomeForwarder({
    store,
    // Settings, not our client: the forwarder then applies its own client defaults, as in the service.
    kafka: { clientId: 'bench-forwarder', brokers },
    topic: topics.outcomes,
    checkpointTopic: topics.checkpoints,
    name: `bench-${runId}`,
    transactionalId: `bench-forwarder-${runId}`,
    createTopics: false,
    maxBatch: batch,
    logger: forwarderLogger,
  });
  let first: { at: number; position: bigint } | undefined;
  const unsubscribe = forwarding.onCommit((position) => (first ??= { at: performance.now(), position }));
  const started = performance.now();
  forwarding.start();
  try {
    if (!(await forwarding.waitFor(head, timeoutMs)))
      throw new Error(
        `the forwarder did not reach the head within ${timeoutMs / 1000} s: ${JSON.stringify(forwarding.status())}`,
      );
    const finished = performance.now();
    // Positions of a fresh store that holds only outcomes count outcomes.
    return {
      seconds: (finished - started) / 1000,
      steadyPerSecond: steady(Number(head - first!.position), first!.at, finished),
    };
  } finally {
    unsubscribe();
    await forwarding.stop();
  }
}

const steady = (count: number, from: number, to: number): number =>
  count > 0 && to > from ? count / ((to - from) / 1000) : Number.NaN;

export async function measureForwarder(
  kafka: Kafka,
  brokers: string[],
  options: BenchOptions['kafka'],
  runId: string,
): Promise<Row[]> {
  const { dir, remove } = tempDir('co-bench-fanout-');
  const store = new SqliteEventStore(join(dir, 'events.db'));
  try {
    progress(`kafka: pre-filling a store with ${formatInt(options.outcomes)} outcomes`);
    const messages = await prefill(store, options.outcomes);
    const topics = {
      outcomes: `bench.outcomes.${runId}`,
      checkpoints: `bench.outcomes.checkpoints.${runId}`,
      raw: `bench.raw-outcomes.${runId}`,
      warmUp: `bench.warm-up.${runId}`,
    };
    const created = await freshTopics(kafka, [
      { topic: topics.outcomes, partitions: PARTITIONS },
      { topic: topics.checkpoints, partitions: 1, compacted: true },
      { topic: topics.raw, partitions: PARTITIONS },
      { topic: topics.warmUp, partitions: PARTITIONS },
    ]);
    try {
      const timeoutMs = options.timeoutSeconds * 1_000;
      // Untimed: a fresh broker's first transactions create its transaction-state topic, and its JVM is cold;
      // whichever side ran first would pay for both.
      progress(`kafka: warming the broker up with ${formatInt(Math.min(WARM_UP_MESSAGES, messages.length))} messages`);
      await rawProducer(
        kafka,
        topics.warmUp,
        messages.slice(0, WARM_UP_MESSAGES),
        options.batch,
        `bench-warm-up-${runId}`,
        performance.now() + timeoutMs,
      );
      progress(
        `kafka: raw transactional producer, ${formatInt(messages.length)} messages, ${options.batch} per transaction`,
      );
      const raw = await rawProducer(
        kafka,
        topics.raw,
        messages,
        options.batch,
        `bench-raw-${runId}`,
        performance.now() + timeoutMs,
      );
      progress(`kafka: outcome forwarder draining the store, ${options.batch} per transaction`);
      const forwarded = await forwarder(store, brokers, topics, options.batch, runId, timeoutMs);
      const perSecond = messages.length / forwarded.seconds;
      const rawPerSecond = messages.length / raw.seconds;
      return [
        ratioRow(
          FORWARDER_FIGURES[0].figure,
          `${formatInt(perSecond)} outcomes/s (${formatInt(messages.length)} in ${forwarded.seconds.toFixed(2)} s from start; after its first commit ${formatInt(forwarded.steadyPerSecond)}/s)`,
          perSecond,
          `raw kafkajs transactional producer, ${options.batch}/transaction: ${formatInt(rawPerSecond)} msg/s (after its first commit ${formatInt(raw.steadyPerSecond)}/s)`,
          rawPerSecond,
          MIN_RATIO,
        ),
      ];
    } finally {
      await created.remove();
    }
  } finally {
    await store.close();
    await remove();
  }
}
