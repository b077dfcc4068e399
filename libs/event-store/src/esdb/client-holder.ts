/**
 * The adapter's client, renewed when it may be poisoned.
 *
 * @eventstore/db-client 6.2 queries the server's capabilities once per client and keeps the answer for the
 * client's life, a failure included (Client.capabilities); every append awaits it. It forgets that answer only
 * when it reconnects (UNAVAILABLE, CANCELLED, not leader). So after any other failure of an append we build a
 * new client; the old one is disposed once the operations that still use it have finished (disposing it
 * earlier would cut their reads short).
 */
import {
  AccessDeniedError,
  CancelledError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError,
  UnavailableError,
  WrongExpectedVersionError,
  convertToCommandError,
  isCommandError,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import { isNotLeader } from './errors.js';

/** How many nodes a call may be sent to while a cluster elects its leader (one answer NotLeader each). */
export const LEADER_HOPS = 3;

/** The part of the client the adapter uses (an EventStoreDBClient is one). */
export type EsdbClient = Pick<
  EventStoreDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'
>;

export class ClientHolder {
  private current: EsdbClient;
  private readonly users = new Map<EsdbClient, number>();
  private readonly retired = new Set<EsdbClient>();

  constructor(private readonly connect: () => EsdbClient) {
    this.current = connect();
  }

  /** The current client, held until `release` is called. */
  lease(): { client: EsdbClient; release: () => void } {
    const client = this.current;
    this.users.set(client, (this.users.get(client) ?? 0) + 1);
    let released = false;
    return {
      client,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.users.get(client) ?? 1) - 1;
        if (left > 0) return void this.users.set(client, left);
        this.users.delete(client);
        if (this.retired.delete(client)) void client.dispose().catch(() => undefined);
      },
    };
  }

  /**
   * Runs `action` on the current client. A node that no longer leads answers a leader-only call NotLeader,
   * naming the leader, and the client reconnects there: the action is asked again, at most LEADER_HOPS times.
   */
  async use<T>(action: (client: EsdbClient) => Promise<T>): Promise<T> {
    for (let hop = 1; ; hop++) {
      const { client, release } = this.lease();
      try {
        return await action(client);
      } catch (error) {
        if (hop < LEADER_HOPS && isNotLeader(error)) continue;
        throw error;
      } finally {
        release();
      }
    }
  }

  /** Replaces `failed` by a new client if it is still the current one and `error` may have poisoned it. */
  renewAfter(failed: EsdbClient, error: unknown): boolean {
    if (failed !== this.current || !mayPoisonClient(error)) return false;
    this.current = this.connect();
    if (this.users.has(failed)) this.retired.add(failed);
    else void failed.dispose().catch(() => undefined);
    return true;
  }

  async close(): Promise<void> {
    const all = [this.current, ...this.retired];
    this.retired.clear();
    await Promise.all(all.map((c) => c.dispose()));
  }
}

/**
 * A gRPC failure after which the client reconnects by itself, or a definitive answer of the server (which
 * proves the capability query answered), keeps the client; any other gRPC failure may have been the cached
 * capability query, and our own errors (a TypeError) never reached the client.
 */
export function mayPoisonClient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  let converted: Error = error;
  try {
    converted = convertToCommandError(error);
  } catch {
    // A foreign error with a numeric code but no details: not one of the client's.
  }
  if (!isCommandError(converted)) return false;
  const kept = [
    WrongExpectedVersionError,
    UnavailableError,
    NotLeaderError,
    CancelledError,
    StreamDeletedError,
    AccessDeniedError,
    MaxAppendSizeExceededError,
  ];
  return !kept.some((type) => converted instanceof type);
}
