/**
 * The outcomes gateway (Eventuous style: subscription + transform + producer). It follows the event store from its
 * committed checkpoint and forwards every ContactEnded and EndContactRejected to the outcomes topic.
 *
 * Exactly once for read_committed consumers: each batch of outcomes and the forwarder's checkpoint record are
 * produced in ONE Kafka transaction, so they are committed or aborted together. After any failure the producer is
 * recreated with the same transactionalId (which fences a zombie and aborts its open transaction), the committed
 * checkpoint is read back, and the subscription resumes right after it: nothing skipped, nothing visible twice.
 *
 * A committed checkpoint beyond the store's head means the store is not the one it was written for (a wiped
 * DATA_DIR, another deployment using the same forwarder name): resuming "after" it would silently skip the store's
 * first events, so the forwarder forwards nothing, reports 'degraded' and checks again with the retry backoff.
 *
 * An idle forwarder has no transaction to fail, so while running it probes the broker (one metadata request, nothing
 * produced) after `probeIntervalMs` without a transaction: 'degraded' while the broker does not answer, 'running'
 * again when it does (see IdleProbe). The exactly-once path does not depend on it.
 */
import { EventEmitter } from 'node:events';
import kafkajs from 'kafkajs';
import type { Kafka, Producer, TopicMessages } from 'kafkajs';
import { waitForPosition, type RecordedEvent } from '../../event-store/src/index.js';
import { BatchReader } from './batch-reader.js';
import { BrokerCheck, IdleProbe } from './broker-probe.js';
import { checkpointMessage, readCommittedCheckpoint } from './checkpoint-topic.js';
import { CheckpointBeyondHeadError, type ForwarderState, type ForwarderStatus, type OutcomeForwarderOptions } from './forwarder-api.js';
import { consoleLogger, errorMessage, type ForwarderLogger } from './logger.js';
import { isOutcome, toOutcomeMessage } from './outcome-message.js';
import { settlesWithin, sleep, within } from './timing.js';
import { DEFAULT_OUTCOME_PARTITIONS, ensureTopics } from './topics.js';

export * from './forwarder-api.js';

const { Kafka: KafkaClient, Partitioners, logLevel } = kafkajs;

// Bounded retries inside kafkajs so a dead broker surfaces as an error here: a failed send is never committed,
// the whole transaction is aborted (or fenced), so limiting retries cannot break exactly-once.
const PRODUCER_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 };
const ADMIN_RETRY = { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 };
const CLIENT_DEFAULTS = { retry: PRODUCER_RETRY, requestTimeout: 10_000, connectionTimeout: 3_000, logLevel: logLevel.NOTHING };
const PROBE_TIMEOUT_MS = 3_000;

export class OutcomeForwarder {
  readonly topic: string;
  readonly checkpointTopic: string;
  readonly name: string;
  readonly transactionalId: string;
  private readonly logger: ForwarderLogger;
  private readonly kafka: Kafka;
  private readonly commits = new EventEmitter();
  private state: ForwarderState = 'stopped';
  private checkpoint: bigint | undefined;
  private head: bigint | undefined;
  private lastError: string | undefined;
  /** Set while the committed checkpoint is beyond the store's head: nothing is forwarded, only re-checked. */
  private beyondHead = false;
  private failures = 0;
  private topicsReady: boolean;
  private producer: Producer | undefined;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private probe: IdleProbe | undefined;
  private brokerCheck: BrokerCheck;

  constructor(private readonly options: OutcomeForwarderOptions) {
    this.topic = options.topic ?? 'contact.outcomes';
    this.checkpointTopic = options.checkpointTopic ?? 'contact.outcomes.checkpoints';
    this.name = options.name ?? 'contact-outcomes-forwarder';
    this.transactionalId = options.transactionalId ?? 'contact-orchestrator-forwarder';
    this.logger = options.logger ?? consoleLogger;
    this.kafka = options.kafka instanceof KafkaClient ? options.kafka : new KafkaClient({ ...CLIENT_DEFAULTS, ...options.kafka });
    this.topicsReady = options.createTopics === false;
    this.brokerCheck = new BrokerCheck(this.kafka);
    this.commits.setMaxListeners(0);
  }

  start(): void {
    if (this.loop) return;
    this.state = 'starting';
    this.controller = new AbortController();
    this.loop = this.run(this.controller.signal).catch((error) => this.logger.error('outcome forwarder: loop ended unexpectedly', error));
    this.headTimer = setInterval(() => this.refreshHead(), 1_000).unref();
    this.refreshHead();
  }

  /** Lets the transaction in flight finish (bounded), drops any uncommitted batch, disconnects. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.controller?.abort();
    clearInterval(this.headTimer);
    this.probe?.stop();
    const finished = await settlesWithin(loop, this.options.stopTimeoutMs ?? 10_000);
    if (!finished) this.logger.warn('outcome forwarder: the current transaction did not finish in time; disconnecting');
    await this.dropProducer();
    await this.brokerCheck.close();
    if (!finished) await settlesWithin(loop, 5_000);
    this.loop = undefined;
    this.state = 'stopped';
    this.logger.info(`outcome forwarder: stopped at checkpoint ${this.checkpoint ?? 'none'}`);
  }

  status(): ForwarderStatus {
    const { state, checkpoint, head, lastError } = this;
    // Not clamped: head is never set below a committed checkpoint, so a negative lag would be a bug worth seeing.
    const lag = head === undefined || this.beyondHead ? undefined : Number(head - (checkpoint ?? 0n));
    return {
      state,
      ...(checkpoint !== undefined ? { checkpoint: checkpoint.toString(10) } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
      ...(lag !== undefined ? { lag } : {}),
    };
  }

  /** Called with the new checkpoint after each committed transaction. */
  onCommit(listener: (checkpoint: bigint) => void): () => void {
    this.commits.on('commit', listener);
    return () => this.commits.off('commit', listener);
  }

  /** Resolves true once a committed transaction covers `position`; false on timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    return waitForPosition(this.checkpoint, position, (listener) => this.onCommit(listener), timeoutMs);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { initialMs = 200, maxMs = 5_000 } = this.options.backoff ?? {};
    const timeoutMs = this.options.operationTimeoutMs ?? 10_000;
    while (!signal.aborted) {
      try {
        // While the checkpoint is beyond the head, re-read it without a producer: a live deployment sharing our
        // transactional id is not fenced again at every check.
        if (this.beyondHead) await within(this.recheck(2 * timeoutMs), 3 * timeoutMs, 're-reading the checkpoint');
        await this.session(signal);
      } catch (error) {
        if (signal.aborted) break;
        const delay = Math.min(initialMs * 2 ** Math.min(this.failures, 20), maxMs);
        this.failures += 1;
        this.state = 'degraded';
        this.lastError = errorMessage(error);
        const message = `outcome forwarder: ${this.lastError}; resuming from the committed checkpoint in ${delay} ms (attempt ${this.failures})`;
        if (error instanceof CheckpointBeyondHeadError) {
          // Logged once per episode; status() carries the current positions.
          if (!this.beyondHead) this.logger.error(`outcome forwarder: ${this.lastError}. Forwarding nothing; checking again with backoff`);
          this.beyondHead = true;
        } else if (this.failures === 1) this.logger.error(message, error);
        // A long outage logs its first attempts, then every tenth, not a line every few seconds.
        else if (this.failures <= 5 || this.failures % 10 === 0) this.logger.warn(message);
        await this.dropProducer();
        await sleep(delay, signal);
      }
    }
  }

  /** One producer, one checkpoint read, one subscription; returns on stop, throws on any failure. */
  private async session(signal: AbortSignal): Promise<void> {
    const timeoutMs = this.options.operationTimeoutMs ?? 10_000;
    // Creating topics, fencing and a consumer group join (up to group.initial.rebalance.delay.ms) take longer.
    const { producer, after } = await within(this.connect(2 * timeoutMs), 3 * timeoutMs, 'connecting and reading the checkpoint');
    if (signal.aborted) return;
    await this.assertWithinStore(after);
    if (this.beyondHead) this.logger.info(`outcome forwarder: the event store's head reached checkpoint ${after}`);
    this.beyondHead = false;
    this.checkpoint = after;
    this.logger.info(
      `outcome forwarder: ${this.failures > 0 ? `recovered after ${this.failures} failed attempt(s); ` : ''}` +
        `forwarding to ${this.topic} as ${this.transactionalId}, after position ${after ?? '(start)'}`,
    );
    this.state = 'running';
    this.failures = 0;
    const subscription = new AbortController();
    const onStop = (): void => subscription.abort();
    signal.addEventListener('abort', onStop);
    const probe = (this.probe = this.startProbe());
    try {
      const events = this.options.store.subscribeToAll({ ...(after !== undefined ? { after } : {}), signal: subscription.signal });
      const reader = new BatchReader(events[Symbol.asyncIterator]());
      for (;;) {
        const batch = await reader.next(this.options.maxBatch ?? 500, this.options.lingerMs ?? 5);
        if (!batch || signal.aborted) return;
        const last = await probe.around(() => within(this.commitBatch(producer, batch), timeoutMs, 'a Kafka transaction'));
        this.checkpoint = last;
        if (this.head === undefined || this.head < last) this.head = last;
        this.commits.emit('commit', last);
      }
    } finally {
      probe.stop();
      if (this.probe === probe) this.probe = undefined;
      signal.removeEventListener('abort', onStop);
      subscription.abort();
      await this.brokerCheck.close();
    }
  }

  /** Only while this session runs: a session that fails sets 'degraded' itself, and the next one starts 'running'. */
  private startProbe(): IdleProbe {
    return new IdleProbe({
      intervalMs: this.options.probeIntervalMs ?? 5_000,
      timeoutMs: PROBE_TIMEOUT_MS,
      check: () => this.brokerCheck.run(),
      onDown: (error) => {
        if (this.state !== 'running') return;
        this.state = 'degraded';
        this.lastError = `Kafka broker unreachable while idle: ${errorMessage(error)}`;
        this.logger.error(`outcome forwarder: ${this.lastError}; reporting degraded until it answers`);
      },
      onUp: () => {
        if (this.state !== 'degraded') return;
        this.state = 'running';
        this.logger.info('outcome forwarder: Kafka broker reachable again; running');
      },
    });
  }

  private async connect(readTimeoutMs: number): Promise<{ producer: Producer; after: bigint | undefined }> {
    const { kafka } = this;
    const admin = kafka.admin({ retry: ADMIN_RETRY });
    await admin.connect();
    try {
      if (!this.topicsReady) {
        const results = await ensureTopics(
          admin,
          {
            outcomes: { topic: this.topic, partitions: this.options.partitions ?? DEFAULT_OUTCOME_PARTITIONS, ...this.replication() },
            checkpoints: { topic: this.checkpointTopic, ...this.replication() },
          },
          this.logger,
        );
        this.topicsReady = !Object.values(results).includes('failed');
      }
      // Fence first: our predecessor's open transaction is aborted before we read what it committed.
      const producer = await this.createProducer();
      const after = await readCommittedCheckpoint(kafka, admin, { topic: this.checkpointTopic, name: this.name, timeoutMs: readTimeoutMs });
      return { producer, after };
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** The committed checkpoint, read without fencing anyone; throws while it is still beyond the store's head. */
  private async recheck(readTimeoutMs: number): Promise<void> {
    const admin = this.kafka.admin({ retry: ADMIN_RETRY });
    await admin.connect();
    try {
      await this.assertWithinStore(await readCommittedCheckpoint(this.kafka, admin, { topic: this.checkpointTopic, name: this.name, timeoutMs: readTimeoutMs }));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** A checkpoint the store has not reached was not written from this store: resuming after it would skip events. */
  private async assertWithinStore(checkpoint: bigint | undefined): Promise<void> {
    if (checkpoint === undefined) return;
    const head = await this.options.store.headPosition();
    if (head === undefined || checkpoint > head) throw new CheckpointBeyondHeadError(checkpoint, head, this.checkpointTopic, this.name);
  }

  private replication(): { replicationFactor?: number } {
    return this.options.replicationFactor !== undefined ? { replicationFactor: this.options.replicationFactor } : {};
  }

  private async createProducer(): Promise<Producer> {
    await this.dropProducer();
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.options.transactionTimeoutMs ?? 60_000,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: PRODUCER_RETRY,
    });
    this.producer = producer;
    await producer.connect();
    // kafkajs sends InitProducerId on the first transaction(): that bumps the epoch, which fences a zombie.
    const fence = await producer.transaction();
    await fence.abort();
    return producer;
  }

  /** The outcomes of the batch and the checkpoint after its last event, in one transaction. */
  private async commitBatch(producer: Producer, batch: RecordedEvent[]): Promise<bigint> {
    const last = batch[batch.length - 1]!.position;
    const outcomes = batch.filter(isOutcome).map(toOutcomeMessage);
    const topicMessages: TopicMessages[] = [];
    if (outcomes.length > 0) topicMessages.push({ topic: this.topic, messages: outcomes });
    topicMessages.push({ topic: this.checkpointTopic, messages: [checkpointMessage(this.name, last)] });
    const transaction = await producer.transaction();
    try {
      await transaction.sendBatch({ topicMessages, acks: -1 });
      await transaction.commit();
    } catch (error) {
      // Best effort: if the abort cannot reach the broker, the next producer's fencing aborts it.
      await settlesWithin(transaction.abort(), 5_000);
      throw error;
    }
    return last;
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await settlesWithin(producer.disconnect(), 5_000);
  }

  private refreshHead(): void {
    this.options.store.headPosition().then(
      // Never below a committed position: a query started before a commit may answer after it.
      (head) => (this.head = head !== undefined && this.checkpoint !== undefined && head < this.checkpoint ? this.checkpoint : head),
      () => undefined,
    );
  }
}
