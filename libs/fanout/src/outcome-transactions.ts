/**
 * The Kafka side of the outcome forwarder: one transactional producer per session, and each batch's outcomes
 * produced with the forwarder's checkpoint record in ONE transaction, so they are committed or aborted together.
 *
 * Opening a session fences first (same transactionalId: a zombie predecessor's open transaction is aborted), then
 * reads the committed checkpoint back with read_committed. A committed checkpoint beyond the store's head means the
 * store is not the one it was written for (a wiped DATA_DIR, another deployment with the same forwarder name):
 * resuming "after" it would silently skip the store's first events, so it is refused.
 */
import kafkajs from 'kafkajs';
import type { Admin, Kafka, Producer, TopicMessages } from 'kafkajs';
import type { EventStore, RecordedEvent } from '#event-store';
import { checkpointMessage, readCommittedCheckpoint } from './checkpoint-topic.js';
import { CheckpointBeyondHeadError, type OutcomeForwarderOptions } from './forwarder-api.js';
import { isOutcome, toOutcomeMessage } from './outcome-message.js';
import { settlesWithin, type Log } from '#runtime';
import { DEFAULT_OUTCOME_PARTITIONS, ensureTopics } from './topics.js';

const { Partitioners } = kafkajs;

// Bounded retries inside kafkajs so a dead broker surfaces as an error here: a failed send is never committed,
// the whole transaction is aborted (or fenced), so limiting retries cannot break exactly-once.
/**
 * A transaction begun right after the previous one's EndTxn is often refused with CONCURRENT_TRANSACTIONS while the
 * broker still writes the previous markers; the Java client retries that after 20 ms, kafkajs after its
 * initialRetryTime. 10 ms (then 20, 40, … up to 2 s, 8 times) instead of 100 ms: end-to-Kafka p99 at 1,000 ends/s went
 * from 96-175 ms (4 runs) to 99-121 ms (6 of 7 runs; one 262 ms), `BENCH_ONLY=kafka npm run bench`.
 */
export const PRODUCER_RETRY = { retries: 8, initialRetryTime: 10, maxRetryTime: 2_000 };
const ADMIN_RETRY = { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 };

export type TransactionsSettings = Required<
  Pick<OutcomeForwarderOptions, 'topic' | 'checkpointTopic' | 'name' | 'transactionalId'>
> &
  Pick<
    OutcomeForwarderOptions,
    'partitions' | 'replicationFactor' | 'transactionTimeoutMs' | 'createTopics' | 'traceBatch'
  >;

export class OutcomeTransactions {
  private producer: Producer | undefined;
  private topicsReady: boolean;

  constructor(
    private readonly kafka: Kafka,
    private readonly store: EventStore,
    private readonly settings: TransactionsSettings,
    private readonly logger: Log,
  ) {
    this.topicsReady = settings.createTopics === false;
  }

  /** Creates the topics if needed (once; "not allowed" leaves them to an operator). */
  async prepareTopics(): Promise<void> {
    if (this.topicsReady) return;
    const admin = this.kafka.admin({ retry: ADMIN_RETRY });
    await admin.connect();
    try {
      await this.ensureTopics(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Creates the topics if needed, fences any predecessor, and returns the committed checkpoint (within the store). */
  async open(readTimeoutMs: number): Promise<bigint | undefined> {
    const admin = this.kafka.admin({ retry: ADMIN_RETRY });
    await admin.connect();
    try {
      if (!this.topicsReady) await this.ensureTopics(admin);
      // Fence first: our predecessor's open transaction is aborted before we read what it committed.
      await this.createProducer();
      const after = await readCommittedCheckpoint(this.kafka, admin, {
        topic: this.settings.checkpointTopic,
        name: this.settings.name,
        timeoutMs: readTimeoutMs,
      });
      await this.assertWithinStore(after);
      return after;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** The committed checkpoint, read without fencing anyone; throws while it is still beyond the store's head. */
  async recheck(readTimeoutMs: number): Promise<void> {
    const admin = this.kafka.admin({ retry: ADMIN_RETRY });
    await admin.connect();
    try {
      await this.assertWithinStore(
        await readCommittedCheckpoint(this.kafka, admin, {
          topic: this.settings.checkpointTopic,
          name: this.settings.name,
          timeoutMs: readTimeoutMs,
        }),
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** The outcomes of the batch and the checkpoint after its last event, in one transaction. */
  async commit(batch: RecordedEvent[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new Error('no producer: the session is closed');
    const last = batch[batch.length - 1]!.position;
    const outcomes = batch.filter(isOutcome).map(toOutcomeMessage);
    const topicMessages: TopicMessages[] = [];
    if (outcomes.length > 0) topicMessages.push({ topic: this.settings.topic, messages: outcomes });
    topicMessages.push({
      topic: this.settings.checkpointTopic,
      messages: [checkpointMessage(this.settings.name, last)],
    });
    const send = async (): Promise<void> => {
      const transaction = await producer.transaction();
      try {
        await transaction.sendBatch({ topicMessages, acks: -1 });
        await transaction.commit();
      } catch (error) {
        // Best effort: if the abort cannot reach the broker, the next producer's fencing aborts it.
        await settlesWithin(transaction.abort(), 5_000);
        throw error;
      }
    };
    const traceBatch = this.settings.traceBatch;
    await (traceBatch ? traceBatch({ events: batch, outcomes }, send) : send());
  }

  /** Disconnects the session's producer (an open transaction is left to the broker, or to the next fencing). */
  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await settlesWithin(producer.disconnect(), 5_000);
  }

  private async ensureTopics(admin: Admin): Promise<void> {
    const { topic, checkpointTopic, partitions, replicationFactor } = this.settings;
    const replication = replicationFactor !== undefined ? { replicationFactor } : {};
    const results = await ensureTopics(
      admin,
      {
        outcomes: { topic, partitions: partitions ?? DEFAULT_OUTCOME_PARTITIONS, ...replication },
        checkpoints: { topic: checkpointTopic, ...replication },
      },
      this.logger,
    );
    this.topicsReady = !Object.values(results).includes('failed');
  }

  private async assertWithinStore(checkpoint: bigint | undefined): Promise<void> {
    if (checkpoint === undefined) return;
    const head = await this.store.headPosition();
    if (head === undefined || checkpoint > head)
      throw new CheckpointBeyondHeadError(checkpoint, head, this.settings.checkpointTopic, this.settings.name);
  }

  private async createProducer(): Promise<void> {
    await this.close();
    const producer = this.kafka.producer({
      transactionalId: this.settings.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.settings.transactionTimeoutMs ?? 60_000,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: PRODUCER_RETRY,
    });
    this.producer = producer;
    await producer.connect();
    // kafkajs sends InitProducerId on the first transaction(): that bumps the epoch, which fences a zombie.
    const fence = await producer.transaction();
    await fence.abort();
  }
}
