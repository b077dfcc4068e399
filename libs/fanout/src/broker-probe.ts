/**
 * Notices a broker outage while the forwarder is idle. A busy forwarder learns that the broker is gone from a failed
 * transaction; an idle one sends nothing, so on its own it would report 'running' through a whole outage.
 *
 * Once nothing has begun or ended for `intervalMs`, `check` (one cheap round trip that produces nothing) runs,
 * bounded by `timeoutMs`, then again every `intervalMs` while idle. The first failure of an episode calls `onDown`,
 * the first success after it (a probe, or a committed transaction) calls `onUp`: one call each per episode.
 * A transaction in flight is left alone: no probe starts while one runs, and the result of a probe that overlapped
 * one is dropped (the transaction's own outcome says more). stop() clears every timer and ignores a pending check.
 */
import type { Admin, Kafka } from 'kafkajs';
import { retry, settlesWithin, TimeoutError } from '#runtime';

/** Node's timer limit: a longer delay (Infinity: never probe) would fire at once, in a loop. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface IdleProbeOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Resolves when the broker answered; rejects (or never settles) when it did not. */
  check: () => Promise<void>;
  onDown: (error: unknown) => void;
  onUp: () => void;
}

export class IdleProbe {
  private timer: NodeJS.Timeout | undefined;
  private cancelCheck: (() => void) | undefined;
  private lastActivity = Date.now();
  private inFlight = 0;
  /** Bumped by every transaction begun or ended: a probe that saw a different generation is not counted. */
  private generation = 0;
  private stopped = false;
  private down = false;

  constructor(private readonly options: IdleProbeOptions) {
    this.schedule(options.intervalMs);
  }

  /** Runs one transaction: no probe starts or counts while it is in flight; its success ends a down episode. */
  async around<T>(transaction: () => Promise<T>): Promise<T> {
    this.touch();
    this.inFlight += 1;
    try {
      const result = await transaction();
      this.up();
      return result;
    } finally {
      this.inFlight -= 1;
      this.touch();
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.cancelCheck?.();
  }

  private touch(): void {
    this.lastActivity = Date.now();
    this.generation += 1;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (!this.stopped)
      this.timer = setTimeout(() => void this.tick(), Math.min(Math.max(delayMs, 1), MAX_DELAY_MS)).unref();
  }

  private async tick(): Promise<void> {
    const { intervalMs } = this.options;
    const idleFor = Date.now() - this.lastActivity;
    if (this.inFlight > 0) return this.schedule(intervalMs);
    if (idleFor < intervalMs) return this.schedule(intervalMs - idleFor);
    const generation = this.generation;
    const failure = await this.bounded();
    if (this.stopped) return;
    if (generation === this.generation && this.inFlight === 0) {
      if (failure === undefined) this.up();
      else if (!this.down) {
        this.down = true;
        this.options.onDown(failure.error);
      }
    }
    this.schedule(intervalMs);
  }

  private up(): void {
    if (!this.down || this.stopped) return;
    this.down = false;
    this.options.onUp();
  }

  /** undefined when the check passed in time; its error (or a TimeoutError) otherwise, also when stopped. */
  private bounded(): Promise<{ error: unknown } | undefined> {
    const { check, timeoutMs } = this.options;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: { error: unknown } | undefined): void => {
        if (settled) return; // a check answering after its deadline must not touch the next probe's
        settled = true;
        clearTimeout(deadline);
        this.cancelCheck = undefined;
        resolve(outcome);
      };
      const deadline = setTimeout(
        () => settle({ error: new TimeoutError(`no answer within ${timeoutMs} ms`) }),
        timeoutMs,
      ).unref();
      this.cancelCheck = () => settle({ error: new Error('stopped') });
      Promise.resolve()
        .then(check)
        .then(
          () => settle(undefined),
          (error: unknown) => settle({ error }),
        );
    });
  }
}

/** The forwarder's check: one metadata request on a dedicated admin client, kept connected while the broker answers.
 * Nothing is produced and the transactional producer is not touched. */
export class BrokerCheck {
  private admin: Admin | undefined;

  constructor(private readonly kafka: Kafka) {}

  async run(): Promise<void> {
    const admin = (this.admin ??= this.kafka.admin({ retry: { retries: 0 } }));
    try {
      await admin.connect();
      // kafkajs asks one broker per request and gives up on the first it cannot reach: one broker down among
      // several is not an outage, so the request is tried a few times (each picks a broker at random).
      await retry(() => admin.describeCluster(), { attempts: 3, retryOn: () => true });
    } catch (error) {
      // A fresh client next time rather than one left half-connected.
      if (this.admin === admin) await this.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await settlesWithin(admin.disconnect(), 5_000);
  }
}
