/**
 * Records refusals under the day's audit stream name: each refusal in its own `end-contact-rejections-{day}-{id}`
 * stream, exactly once; the day's summaries in `end-contact-rejections-{day}`. Every caller has a budget a minute:
 * a caller that could not be authenticated per client address, an authenticated agent per agent. Past it, refusals
 * are counted, and the counts are written as summary events, so no caller can grow the log without limit.
 *
 * Counts are written every FLUSH_MS (not once a window ends), so a SIGKILL loses at most the last FLUSH_MS of
 * them; a graceful stop writes them all. IPv6 clients are budgeted per /64. At most MAX_TRACKED callers are
 * tracked; past that, new callers share one overflow budget per kind (rotating addresses grow neither map nor log).
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  rejectionStreamId,
  type EndContactRejected,
  type EndContactRejectionsSuppressed,
  type RejectionReason,
} from '#contacts';
import { StreamDeletedError, WrongExpectedRevisionError, type EventMetadata, type EventStore } from '#event-store';
import type { AppConfig } from '../config/configuration.js';
import { budgetAddress } from '../http/client-address.js';
import { eventIdFor, newEventId } from '../infrastructure/event-ids.js';
import { APP_CONFIG, EVENT_STORE, LOGGER } from '../infrastructure/tokens.js';
import type { AppLogger } from '../infrastructure/logger.js';

/** Who a budget belongs to, as the summary names it. */
type Caller = { clientAddress: string } | { agentId: string; businessUnitId?: string };
/** What a budget is chosen by: the refusal's reason and the agent it names, if any. */
type Refused = Pick<EndContactRejected['data'], 'reason' | 'agentId' | 'businessUnitId'>;
type Window = {
  caller: Caller;
  limit: number;
  start: number;
  recorded: number;
  pending: Map<RejectionReason, number>;
  pendingSince: number;
};

const MINUTE = 60_000;
export const FLUSH_MS = 1_000;
export const MAX_TRACKED = 10_000;
/** A well-formed contact ID has at most 19 digits; anything longer is cut to this before it is recorded. */
export const MAX_RECORDED_CONTACT_ID = 64;

export type RefusalRecorderLimits = { maxTracked?: number; flushMs?: number };
/** Not provided by the service (the defaults apply); tests give smaller limits. */
export const REFUSAL_RECORDER_LIMITS = Symbol('REFUSAL_RECORDER_LIMITS');

@Injectable()
export class RefusalRecorder {
  private readonly windows = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout;
  private readonly maxTracked: number;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: AppLogger,
    @Optional() @Inject(REFUSAL_RECORDER_LIMITS) limits: RefusalRecorderLimits = {},
  ) {
    this.maxTracked = limits.maxTracked ?? MAX_TRACKED;
    this.timer = setInterval(() => void this.flush(Date.now()), limits.flushMs ?? FLUSH_MS).unref();
  }

  /** Callers tracked right now (bounded by MAX_TRACKED plus the two overflow budgets). */
  get tracked(): number {
    return this.windows.size;
  }

  /** Returns the position written, or undefined when the refusal was only counted. */
  async record(
    rejected: EndContactRejected,
    metadata: EventMetadata,
    clientAddress: string,
  ): Promise<bigint | undefined> {
    if (!this.admit(rejected.data, clientAddress, Date.now())) return undefined;
    const event = truncated(rejected);
    const day = rejectionStreamId(new Date(event.data.rejectedAt));
    // The same refusal redelivered (same day, command, reason and caller) is written once; a retry refused for
    // another reason or by another caller is a new fact and is recorded.
    const { contactId, reason, agentId } = event.data;
    const id = eventIdFor(`${day}:${contactId}:${metadata.commandId ?? randomUUID()}:${reason}:${agentId ?? '-'}`);
    // Its own stream under the day's name, written with no_stream: the one idempotency every store keeps (see
    // docs/decisions.md: one append, so no crash between two can lose or double it).
    const streamId = `${day}-${id}`;
    try {
      return (await this.store.append(streamId, [{ id, ...event, metadata }], { expectedRevision: 'no_stream' }))
        .position;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || error instanceof StreamDeletedError) throw error;
      // Recorded by an earlier attempt whose answer was lost: answer where.
      const [recorded] = await this.store.readStream(streamId);
      if (recorded?.id !== id) throw error;
      return recorded.position;
    }
  }

  /**
   * Counts `count` refusals of one caller for one reason without recording each: a whole bulk end refused for its
   * caller, answered without looking at any contact. Within the caller's budget the count is written at once, as a
   * summary (one event for the batch, counted as one refusal against the budget); past it, in the next summary.
   */
  async countOnly(refusal: Refused, clientAddress: string, count: number): Promise<void> {
    const now = Date.now();
    const window = this.windowOf(refusal, clientAddress, now);
    pend(window, refusal.reason, count, now);
    if (window.recorded >= window.limit) return;
    window.recorded++;
    await this.summarise(window, now);
  }

  private admit(refusal: Refused, clientAddress: string, now: number): boolean {
    const window = this.windowOf(refusal, clientAddress, now);
    if (window.recorded < window.limit) {
      window.recorded++;
      return true;
    }
    pend(window, refusal.reason, 1, now);
    return false;
  }

  /** The caller's budget this minute (a new one when the last has ended, its counts summarised). */
  private windowOf(refusal: Refused, clientAddress: string, now: number): Window {
    // An InvalidSecurityUser refusal has no caller the service can trust: it is bounded by where it came from.
    const anonymous = refusal.reason === 'InvalidSecurityUser' || refusal.agentId === undefined;
    const kind = anonymous ? 'address' : 'agent';
    const address = budgetAddress(clientAddress);
    let key = anonymous ? `address:${address}` : `agent:${refusal.businessUnitId ?? ''}/${refusal.agentId}`;
    if (!this.windows.has(key) && this.windows.size >= this.maxTracked) key = `${kind}:*`;
    let window = this.windows.get(key);
    if (window && now - window.start >= MINUTE) {
      // Written in the background (summarise logs its own failure), but on the flush chain, so that close() waits
      // for it before the store closes.
      const written = this.summarise(window, now);
      this.flushing = this.flushing.then(() => written);
      this.windows.delete(key);
      window = undefined;
    }
    if (!window) {
      const overflow = key.endsWith(':*');
      const caller: Caller = anonymous
        ? { clientAddress: overflow ? '*' : address }
        : overflow
          ? { agentId: '*' }
          : {
              agentId: refusal.agentId!,
              ...(refusal.businessUnitId !== undefined ? { businessUnitId: refusal.businessUnitId } : {}),
            };
      const limit = anonymous ? this.config.anonymousRefusalsPerMinute : this.config.agentRefusalsPerMinute;
      this.windows.set(
        key,
        (window = { caller, limit, start: now, recorded: 0, pending: new Map(), pendingSince: now }),
      );
    }
    return window;
  }

  /** Writes every pending count and forgets the windows that ended; one flush at a time. */
  private flush(now: number, everything = false): Promise<void> {
    this.flushing = this.flushing
      .then(async () => {
        const writes: Array<Promise<void>> = [];
        for (const [key, window] of this.windows) {
          writes.push(this.summarise(window, now));
          if (everything || now - window.start >= MINUTE) this.windows.delete(key);
        }
        await Promise.all(writes);
      })
      .catch((error: unknown) =>
        this.logger.error({ err: error }, 'could not write the summaries of refusals over the budget'),
      );
    return this.flushing;
  }

  /** The pending counts of a window as summary events (one per reason); they are taken now, so none is written twice. */
  private summarise(window: Window, now: number): Promise<void> {
    if (window.pending.size === 0) return Promise.resolve();
    const pending = [...window.pending];
    window.pending = new Map();
    const windowStart = new Date(window.pendingSince);
    const windowEnd = new Date(Math.max(now, window.pendingSince));
    const events = pending.map(([reason, count]): EndContactRejectionsSuppressed => ({
      type: 'EndContactRejectionsSuppressed',
      data: {
        ...window.caller,
        count,
        windowStart: windowStart.toISOString(),
        windowEnd: windowEnd.toISOString(),
        reason,
      },
    }));
    const correlationId = randomUUID();
    const metadata = { correlationId, causationId: correlationId, source: 'system', schemaVersion: 1 } as const;
    return this.store
      .append(
        rejectionStreamId(windowEnd),
        events.map((e) => ({ id: newEventId(), ...e, metadata })),
        { expectedRevision: 'any' },
      )
      .then(
        () =>
          this.logger.warn(
            { ...window.caller, counts: Object.fromEntries(pending) },
            'refusals over the budget summarised',
          ),
        (error: unknown) =>
          this.logger.error(
            { err: error, ...window.caller, counts: Object.fromEntries(pending) },
            'could not record the summary of refusals over the budget',
          ),
      );
  }

  /** Writes the pending summaries; called once at shutdown, before the store closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(Date.now(), true);
  }
}

/** Adds `count` refusals to the window's pending counts (written by the next summary). */
function pend(window: Window, reason: RejectionReason, count: number, now: number): void {
  if (window.pending.size === 0) window.pendingSince = now;
  window.pending.set(reason, (window.pending.get(reason) ?? 0) + count);
}

/** A malformed contact ID of any length is recorded as its first MAX_RECORDED_CONTACT_ID characters. */
function truncated(event: EndContactRejected): EndContactRejected {
  const characters = Array.from(event.data.contactId);
  if (characters.length <= MAX_RECORDED_CONTACT_ID) return event;
  return {
    ...event,
    data: {
      ...event.data,
      contactId: characters.slice(0, MAX_RECORDED_CONTACT_ID).join(''),
      detail: `${event.data.detail} (contact ID of ${characters.length} characters, recorded truncated to ${MAX_RECORDED_CONTACT_ID})`,
    },
  };
}
