/** The outcome forwarder's contract: its options, its status and the error it reports for a foreign checkpoint. */
import type { Kafka, KafkaConfig } from 'kafkajs';
import type { EventStore, RecordedEvent } from '#event-store';
import type { Log } from '#runtime';
import type { OutcomeMessage } from './outcome-message.js';

/**
 * Wraps the sending of one batch's transaction, for the service's traces (docs/decisions.md, Tracing): it may rewrite
 * the outcome records' `traceparent`/`tracestate` headers before calling `send`, and must return what `send` does.
 * The forwarder itself makes no span.
 */
export type TraceBatch = (
  batch: { events: readonly RecordedEvent[]; outcomes: OutcomeMessage[] },
  send: () => Promise<void>,
) => Promise<void>;

export interface OutcomeForwarderOptions {
  store: EventStore;
  /**
   * The brokers and client settings (clientId, ssl, sasl, logCreator...); retry, requestTimeout and
   * connectionTimeout default to short values so an outage shows within seconds. A ready kafkajs client is accepted
   * too: then its own settings decide how fast an outage is noticed.
   */
  kafka: KafkaConfig | Kafka;
  logger?: Log;
  /** Default `contact.outcomes`. */
  topic?: string;
  /** Compacted topic holding the checkpoint. Default `contact.outcomes.checkpoints`. */
  checkpointTopic?: string;
  /** Key of this forwarder's checkpoint record. Default `contact-outcomes-forwarder`. */
  name?: string;
  /** Stable across restarts so a new instance fences its predecessor. Default `contact-orchestrator-forwarder`. */
  transactionalId?: string;
  /** Create the topics at start (ignored when they exist, logged when not allowed). Default true. */
  createTopics?: boolean;
  /** Partitions of the outcomes topic when created. Default 3. */
  partitions?: number;
  /** Replication factor of created topics. Default: the broker's default. */
  replicationFactor?: number;
  /** Most events per transaction. Default 500. */
  maxBatch?: number;
  /** How long a batch waits for more events after the first. Default 5 ms. */
  lingerMs?: number;
  /** Broker-side: an abandoned transaction is aborted after this. Default 60 000 ms. */
  transactionTimeoutMs?: number;
  /** Bound on one transaction (×3 on connecting, creating topics and reading the checkpoint). Default 10 000 ms. */
  operationTimeoutMs?: number;
  /** Retry delays after a failure: doubling from initialMs up to maxMs. Default 200 → 5 000 ms. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How long stop() lets the current transaction finish before disconnecting. Default 10 000 ms. */
  stopTimeoutMs?: number;
  /** While running with no transaction begun or ended for this long, the broker is probed (one metadata request,
   * bounded by 3 s, nothing produced) at this interval: an idle forwarder reports 'degraded' while it does not
   * answer. Default 5 000 ms; Infinity turns it off. */
  probeIntervalMs?: number;
  /**
   * For several instances of one deployment: only the holder of a lease (a Kafka consumer group over the checkpoint
   * topic, `<transactionalId>.lease` unless named) forwards; the others report 'standby' and take over when it
   * stops (at once) or dies (after `sessionTimeoutMs`, default 10 000). Without it every instance forwards, each
   * fencing the others in turn. See ForwarderLease.
   */
  lease?: { groupId?: string; sessionTimeoutMs?: number };
  /** Around each batch's transaction; without it the records carry the stored trace context as it is. */
  traceBatch?: TraceBatch;
}

export type ForwarderState = 'starting' | 'running' | 'standby' | 'degraded' | 'stopped';

export interface ForwarderStatus {
  state: ForwarderState;
  /** Position of the last event covered by a committed transaction (decimal). */
  checkpoint?: string;
  lastError?: string;
  /** Store head minus checkpoint, in the store's position units (events, for SQLite); absent while the committed
   * checkpoint is beyond the store's head (see lastError). */
  lag?: number;
}

/** The committed checkpoint is beyond the store's head: this store is not the one the checkpoint belongs to. */
export class CheckpointBeyondHeadError extends Error {
  override readonly name = 'CheckpointBeyondHeadError';
  constructor(
    readonly checkpoint: bigint,
    readonly head: bigint | undefined,
    checkpointTopic: string,
    name: string,
  ) {
    super(
      `checkpoint ${checkpoint} in ${checkpointTopic} (key ${name}) is beyond the event store's head ${head ?? 'none (empty store)'}: ` +
        `this store is not the one this checkpoint belongs to (wiped DATA_DIR, or another deployment using the same forwarder name). ` +
        `Give this deployment its own forwarder name/transactional id, or reset the checkpoint`,
    );
  }
}
