/**
 * The outcomes gateway (Eventuous style): a Subscription of the event store, whose handler produces every
 * ContactEnded and EndContactRejected to the outcomes topic together with the forwarder's checkpoint in one Kafka
 * transaction (see OutcomeTransactions), so read_committed consumers see each outcome exactly once, after any
 * failure too: the subscription drops the producer, re-reads the committed checkpoint and resumes right after it.
 *
 * An idle forwarder has no transaction to fail, so while running it probes the broker (one metadata request, nothing
 * produced) after `probeIntervalMs` without a transaction: 'degraded' while the broker does not answer, 'running'
 * again when it does (see IdleProbe). The exactly-once path does not depend on it.
 */
import kafkajs from 'kafkajs';
import type { Kafka } from 'kafkajs';
import type { RecordedEvent } from '#event-store';
import { Subscription, batchesOf, type EventBatches } from '#subscription';
import { BrokerCheck, IdleProbe } from './broker-probe.js';
import { ForwarderLease } from './forwarder-lease.js';
import {
  CheckpointBeyondHeadError,
  type ForwarderState,
  type ForwarderStatus,
  type OutcomeForwarderOptions,
} from './forwarder-api.js';
import { OutcomeTransactions, PRODUCER_RETRY } from './outcome-transactions.js';
import { consoleLog, errorMessage, within, type Log } from '#runtime';

export * from './forwarder-api.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;
const CLIENT_DEFAULTS = {
  retry: PRODUCER_RETRY,
  requestTimeout: 10_000,
  connectionTimeout: 3_000,
  logLevel: logLevel.NOTHING,
};
const PROBE_TIMEOUT_MS = 3_000;

export class OutcomeForwarder {
  readonly topic: string;
  readonly checkpointTopic: string;
  readonly name: string;
  readonly transactionalId: string;
  private readonly logger: Log;
  private readonly kafka: Kafka;
  private readonly transactions: OutcomeTransactions;
  private readonly subscription: Subscription<RecordedEvent>;
  private readonly brokerCheck: BrokerCheck;
  private head: bigint | undefined;
  /** Set while the committed checkpoint is beyond the store's head: nothing is forwarded, only re-checked. */
  private beyondHead = false;
  private probe: IdleProbe | undefined;
  private probeError: string | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  /** With several instances: only the lease's holder forwards (see ForwarderLease). */
  private readonly lease: ForwarderLease | undefined;

  constructor(private readonly options: OutcomeForwarderOptions) {
    this.topic = options.topic ?? 'contact.outcomes';
    this.checkpointTopic = options.checkpointTopic ?? 'contact.outcomes.checkpoints';
    this.name = options.name ?? 'contact-outcomes-forwarder';
    this.transactionalId = options.transactionalId ?? 'contact-orchestrator-forwarder';
    this.logger = options.logger ?? consoleLog;
    this.kafka =
      options.kafka instanceof KafkaClient ? options.kafka : new KafkaClient({ ...CLIENT_DEFAULTS, ...options.kafka });
    this.brokerCheck = new BrokerCheck(this.kafka);
    const { topic, checkpointTopic, name, transactionalId } = this;
    this.transactions = new OutcomeTransactions(
      this.kafka,
      options.store,
      { ...options, topic, checkpointTopic, name, transactionalId },
      this.logger,
    );
    const timeoutMs = options.operationTimeoutMs ?? 10_000;
    if (options.lease) {
      this.lease = new ForwarderLease(
        this.kafka,
        {
          groupId: options.lease.groupId ?? `${transactionalId}.lease`,
          topic: checkpointTopic,
          ...(options.lease.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.lease.sessionTimeoutMs } : {}),
          prepare: () => this.transactions.prepareTopics(),
        },
        this.logger,
      );
    }
    const all = batchesOf(
      (after, signal) => options.store.subscribeToAll({ ...(after !== undefined ? { after } : {}), signal }),
      options.maxBatch ?? 500,
      options.lingerMs ?? 5,
    );
    const events = this.lease ? whileHeld(all, this.lease) : all;
    this.subscription = new Subscription(
      'outcome forwarder',
      events,
      {
        resume: async (signal) => {
          // A standby waits here, in 'starting' (or 'retrying' after losing the lease), until it holds the lease.
          await this.lease?.acquired(signal);
          return this.resume(timeoutMs);
        },
        handle: (batch) =>
          this.probe!.around(() => within(this.transactions.commit(batch), timeoutMs, 'a Kafka transaction')),
        release: () => this.release(),
      },
      {
        logger: this.logger,
        backoff: options.backoff ?? {},
        stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
        onRunning: (after, failed) => this.running(after, failed),
        onFailure: (error) => {
          // The lease logged the move; the subscription resumes when it is held again.
          if (error instanceof LeaseLostError) return false;
          if (!(error instanceof CheckpointBeyondHeadError)) return true;
          // Logged once per episode; status() carries the current positions.
          if (!this.beyondHead)
            this.logger.error(`outcome forwarder: ${error.message}. Forwarding nothing; checking again with backoff`);
          this.beyondHead = true;
          return false;
        },
      },
    );
    this.subscription.onCommit((last) => {
      if (this.head === undefined || this.head < last) this.head = last;
    });
  }

  start(): void {
    if (this.headTimer) return;
    this.lease?.start();
    this.subscription.start();
    this.headTimer = setInterval(() => this.refreshHead(), 1_000).unref();
    this.refreshHead();
  }

  /** Lets the transaction in flight finish (bounded), drops any uncommitted batch, disconnects. */
  async stop(): Promise<void> {
    if (!this.headTimer) return;
    clearInterval(this.headTimer);
    this.headTimer = undefined;
    this.probe?.stop();
    const finished = await this.subscription.stop();
    if (!finished) this.logger.warn('outcome forwarder: the current transaction did not finish in time; disconnected');
    // After the last transaction: a standby is handed the lease now, not after the session timeout.
    await this.lease?.stop();
    await this.brokerCheck.close();
    this.logger.info(`outcome forwarder: stopped at checkpoint ${this.subscription.checkpoint ?? 'none'}`);
  }

  status(): ForwarderStatus {
    const checkpoint = this.subscription.checkpoint;
    const lastError = this.lease?.error ?? this.subscription.lastError ?? this.probeError;
    // Not clamped: head is never set below a committed checkpoint, so a negative lag would be a bug worth seeing.
    const standby = this.lease !== undefined && !this.lease.held;
    const lag =
      this.head === undefined || this.beyondHead || standby ? undefined : Number(this.head - (checkpoint ?? 0n));
    return {
      state: this.state(),
      ...(checkpoint !== undefined ? { checkpoint: checkpoint.toString(10) } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
      ...(lag !== undefined ? { lag } : {}),
    };
  }

  /** Called with the new checkpoint after each committed transaction. */
  onCommit(listener: (checkpoint: bigint) => void): () => void {
    return this.subscription.onCommit((position) => listener(position));
  }

  /** Resolves true once a committed transaction covers `position`; false on timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    return this.subscription.waitFor(position, timeoutMs);
  }

  private state(): ForwarderState {
    if (this.lease && !this.lease.held && this.subscription.state !== 'stopped')
      return this.lease.error !== undefined ? 'degraded' : 'standby';
    switch (this.subscription.state) {
      case 'stopped':
        return 'stopped';
      case 'starting':
        return 'starting';
      case 'retrying':
        return 'degraded';
      case 'running':
        return this.probeError !== undefined ? 'degraded' : 'running';
    }
  }

  private async resume(timeoutMs: number): Promise<bigint | undefined> {
    // While the checkpoint is beyond the head, re-read it without a producer: a live deployment sharing our
    // transactional id is not fenced again at every check.
    if (this.beyondHead)
      await within(this.transactions.recheck(2 * timeoutMs), 3 * timeoutMs, 're-reading the checkpoint');
    // Creating topics, fencing and a consumer group join (up to group.initial.rebalance.delay.ms) take longer.
    return within(this.transactions.open(2 * timeoutMs), 3 * timeoutMs, 'connecting and reading the checkpoint');
  }

  private running(after: bigint | undefined, failed: number): void {
    if (this.beyondHead) this.logger.info(`outcome forwarder: the event store's head reached checkpoint ${after}`);
    this.beyondHead = false;
    this.probeError = undefined;
    this.logger.info(
      `outcome forwarder: ${failed > 0 ? `recovered after ${failed} failed attempt(s); ` : ''}` +
        `forwarding to ${this.topic} as ${this.transactionalId}, after position ${after ?? '(start)'}`,
    );
    this.probe?.stop();
    this.probe = this.startProbe();
  }

  private async release(): Promise<void> {
    this.probe?.stop();
    this.probeError = undefined;
    await this.transactions.close();
    await this.brokerCheck.close();
  }

  /** Only while a session runs: a failing session reports 'degraded' itself, and the next one starts 'running'. */
  private startProbe(): IdleProbe {
    return new IdleProbe({
      intervalMs: this.options.probeIntervalMs ?? 5_000,
      timeoutMs: PROBE_TIMEOUT_MS,
      check: () => this.brokerCheck.run(),
      onDown: (error) => {
        if (this.subscription.state !== 'running' || this.probeError !== undefined) return;
        this.probeError = `Kafka broker unreachable while idle: ${errorMessage(error)}`;
        this.logger.error(`outcome forwarder: ${this.probeError}; reporting degraded until it answers`);
      },
      onUp: () => {
        if (this.probeError === undefined) return;
        this.probeError = undefined;
        this.logger.info('outcome forwarder: Kafka broker reachable again; running');
      },
    });
  }

  private refreshHead(): void {
    this.options.store.headPosition().then(
      // Never below a committed position: a query started before a commit may answer after it.
      (head) => {
        const checkpoint = this.subscription.checkpoint;
        this.head = head !== undefined && checkpoint !== undefined && head < checkpoint ? checkpoint : head;
      },
      () => undefined,
    );
  }
}

/** The lease was lost while forwarding: the batches stop, the session is released, and resume waits for the lease. */
class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** The batches of `source` while this instance holds the lease; ended by LeaseLostError when it moves. */
function whileHeld<E>(source: EventBatches<E>, lease: ForwarderLease): EventBatches<E> {
  return async function* (after, signal) {
    const lost = lease.lost();
    try {
      yield* source(after, AbortSignal.any([signal, lost]));
    } catch (error) {
      if (!lost.aborted || signal.aborted) throw error;
    }
    if (lost.aborted && !signal.aborted) throw new LeaseLostError(errorMessage(lost.reason));
  };
}
