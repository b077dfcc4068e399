/**
 * Which of several instances forwards: the one that holds the forwarder's lease, a Kafka consumer group
 * (`<transactionalId>.lease`) over the one-partition checkpoint topic. The group coordinator gives that partition to
 * one live member; the others are standbys. When the holder stops it leaves the group and a standby is handed the
 * partition at once; when it dies the coordinator notices after the session timeout (10 s). The assignor is sticky:
 * an instance joining (a rolling deploy) does not move the lease from the one holding it.
 *
 * The lease only chooses who forwards; exactly-once does not rest on it. A new holder opens its session by fencing
 * the transactional ID, so a holder that lost the lease without noticing (paused, cut off) has its open transaction
 * aborted and cannot commit another. See docs/decisions.md (Kafka).
 */
import kafkajs from 'kafkajs';
import type { Consumer, Kafka, PartitionAssigner } from 'kafkajs';
import { backoffDelay, errorMessage, sleep, type Log } from '#runtime';

const { AssignerProtocol } = kafkajs;

export interface LeaseSettings {
  /** The consumer group that elects the holder. */
  groupId: string;
  /** A topic the group subscribes to; its partitions all go to the holder (the checkpoint topic: one partition). */
  topic: string;
  /** How long a dead holder keeps the lease. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** Runs before the group is joined (the topic must exist: the consumer never creates it). */
  prepare?: () => Promise<void>;
}

const ASSIGNOR = 'ForwarderLeaseAssignor';
const HELD = Buffer.from('held');

/** Every partition of the lease topic to one member: the one that already holds them, else the first by ID. */
function stickyOneHolder(holding: () => boolean, topic: string): PartitionAssigner {
  return ({ cluster }) => ({
    name: ASSIGNOR,
    version: 0,
    protocol: ({ topics }) => ({
      name: ASSIGNOR,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 0,
        topics,
        userData: holding() ? HELD : Buffer.alloc(0),
      }),
    }),
    assign: ({ members }) => {
      const claims = members
        .map(({ memberId, memberMetadata }) => ({
          memberId,
          held: AssignerProtocol.MemberMetadata.decode(memberMetadata)?.userData.equals(HELD) ?? false,
        }))
        .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
      const holder = (claims.find((c) => c.held) ?? claims[0])?.memberId;
      const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
      return Promise.resolve(
        members.map(({ memberId }) => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: memberId === holder ? { [topic]: partitions } : {},
            userData: Buffer.alloc(0),
          }),
        })),
      );
    },
  });
}

export class ForwarderLease {
  private consumer: Consumer | undefined;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private holding: AbortController | undefined;
  private readonly waiters = new Set<() => void>();
  private failure: string | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: LeaseSettings,
    private readonly logger: Log,
  ) {}

  get held(): boolean {
    return this.holding !== undefined;
  }

  /** Why the group cannot be joined now (undefined while joined, as holder or standby). */
  get error(): string | undefined {
    return this.failure;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once this instance holds the lease; rejects if `signal` aborts first. */
  acquired(signal: AbortSignal): Promise<void> {
    if (this.holding) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        signal.removeEventListener('abort', aborted);
        this.waiters.delete(done);
        resolve();
      };
      const aborted = (): void => {
        this.waiters.delete(done);
        reject(signal.reason);
      };
      signal.addEventListener('abort', aborted, { once: true });
      this.waiters.add(done);
    });
  }

  /** Aborted when the lease held now is lost (already aborted if none is held). */
  lost(): AbortSignal {
    return this.holding?.signal ?? AbortSignal.abort();
  }

  /** Leaves the group, so a standby is handed the lease without waiting for the session timeout. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.setHeld(false);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.loop;
  }

  private setHeld(held: boolean): void {
    if (held === this.held) return;
    if (held) {
      this.holding = new AbortController();
      this.logger.info(`outcome forwarder: holding the lease (group ${this.settings.groupId}); forwarding`);
      for (const waiter of [...this.waiters]) waiter();
    } else {
      const holding = this.holding!;
      this.holding = undefined;
      holding.abort(new Error('the forwarder lease moved to another instance'));
      if (!this.stopping.signal.aborted)
        this.logger.info(`outcome forwarder: the lease (group ${this.settings.groupId}) is held elsewhere; standby`);
    }
  }

  /** Joins the group; a consumer that fails for good (not allowed, topic missing) is replaced after a backoff. */
  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        await this.settings.prepare?.();
        const { ended } = await this.join();
        this.failure = undefined;
        attempt = 0;
        await ended;
      } catch (error) {
        this.setHeld(false);
        this.failure = `cannot join the forwarder's lease group ${this.settings.groupId}: ${errorMessage(error)}`;
        if (attempt === 1 || attempt % 10 === 0) this.logger.error(`outcome forwarder: ${this.failure}`);
      }
      await this.consumer?.disconnect().catch(() => undefined);
      this.consumer = undefined;
      await sleep(backoffDelay(Math.max(attempt, 1), { initialMs: 500, maxMs: 10_000 }), signal);
    }
  }

  /** Resolves once the consumer runs, with `ended`: resolved when it stops, rejected when it crashes for good. */
  private async join(): Promise<{ ended: Promise<void> }> {
    const { groupId, topic, sessionTimeoutMs = 10_000 } = this.settings;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      rebalanceTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeoutMs / 10)),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 1_000,
      partitionAssigners: [stickyOneHolder(() => this.held, topic)],
      // Never restarted by kafkajs itself: run() replaces a crashed consumer, so one process has one member.
      retry: { restartOnFailure: () => Promise.resolve(false) },
    });
    this.consumer = consumer;
    const ended = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        if (this.consumer !== consumer) return;
        this.failure = undefined;
        this.setHeld((payload.memberAssignment[topic]?.length ?? 0) > 0);
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (this.consumer !== consumer) return;
        // Until the group is joined again nobody here knows who holds the lease: reported as a failure (degraded).
        this.failure = `the forwarder's lease group ${groupId}: ${errorMessage(payload.error)}`;
        this.setHeld(false);
        if (!payload.restart) reject(payload.error);
      });
      consumer.on(consumer.events.STOP, () => resolve());
    });
    ended.catch(() => undefined);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    // The records are not the point (the group's assignment is): nothing is processed, no offset committed.
    await consumer.run({ autoCommit: false, eachBatch: () => Promise.resolve() });
    return { ended };
  }
}
