/**
 * Re-publishing a range of outcomes (docs/design.md, Kafka): the records the forwarder sent for positions from..to, sent again
 * exactly as they were (toOutcomeMessage: same key, value and headers, so `event-id` lets consumers deduplicate; a
 * `traceparent` names the command's span, where a traced forwarder had named its own child of it), in transactions,
 * for a consumer that lost them. It has its own transactional ID and writes no checkpoint record: the live forwarder
 * is neither fenced nor moved.
 */
import kafkajs from 'kafkajs';
import type { Kafka, Producer } from 'kafkajs';
import type { RecordedEvent } from '#event-store';
import { settlesWithin } from '#runtime';
import { isOutcome, toOutcomeMessage } from './outcome-message.js';
import { PRODUCER_RETRY } from './outcome-transactions.js';

const { Partitioners } = kafkajs;

export type RepublishOptions = {
  /** Inclusive positions. */
  from: bigint;
  to: bigint;
  topic: string;
  /** Not the forwarder's: a republisher must not fence the live forwarder. */
  transactionalId: string;
  /** Outcomes per transaction. */
  batch?: number;
};

export type RepublishProgress = { position: bigint; outcomes: number; transactions: number };

/** Reads a page of the log strictly after `after`. */
export type ReadPage = (after: bigint, maxCount: number) => Promise<RecordedEvent[]>;

export async function republishOutcomes(
  kafka: Kafka,
  read: ReadPage,
  options: RepublishOptions,
  onProgress?: (p: RepublishProgress) => void,
): Promise<RepublishProgress> {
  const batch = options.batch ?? 500;
  const producer: Producer = kafka.producer({
    transactionalId: options.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: PRODUCER_RETRY,
  });
  await producer.connect();
  const progress: RepublishProgress = { position: options.from - 1n, outcomes: 0, transactions: 0 };
  try {
    let pending: RecordedEvent[] = [];
    const send = async (): Promise<void> => {
      if (pending.length === 0) return;
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic: options.topic, messages: pending.map(toOutcomeMessage), acks: -1 });
        await transaction.commit();
      } catch (error) {
        await settlesWithin(transaction.abort(), 5_000);
        throw error;
      }
      progress.outcomes += pending.length;
      progress.transactions++;
      pending = [];
      onProgress?.({ ...progress });
    };
    for (let after = options.from > 0n ? options.from - 1n : 0n; after < options.to;) {
      const page = await read(after, 1_000);
      if (page.length === 0) break;
      for (const event of page) {
        if (event.position > options.to) break;
        if (isOutcome(event)) pending.push(event);
        if (pending.length >= batch) await send();
      }
      after = page[page.length - 1]!.position;
      progress.position = after < options.to ? after : options.to;
    }
    await send();
    progress.position = options.to;
    return progress;
  } finally {
    await settlesWithin(producer.disconnect(), 5_000);
  }
}
