/**
 * Records refusals under the day's audit stream name: each refusal in its own `end-contact-rejections-{day}-{id}`
 * stream, exactly once; the day's summaries in `end-contact-rejections-{day}`. Refusals of an authenticated
 * caller are always recorded; those of a caller that could not be authenticated are bounded per client address:
 * the first N a minute, then one summary event with the count, so anonymous traffic cannot grow the log without
 * limit.
 */
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { rejectionStreamId, type EndContactRejected } from '#contacts';
import {
  StreamDeletedError,
  WrongExpectedRevisionError,
  type EventMetadata,
  type EventStore,
} from '#event-store';
import type { AppConfig } from '../config/configuration.js';
import { eventIdFor } from '../infrastructure/event-ids.js';
import { APP_CONFIG, EVENT_STORE, LOGGER } from '../infrastructure/tokens.js';
import type { AppLogger } from '../infrastructure/logger.js';

type Window = { start: number; recorded: number; suppressed: number };
const MINUTE = 60_000;

@Injectable()
export class RefusalRecorder {
  private readonly windows = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: AppLogger,
  ) {
    this.timer = setInterval(() => void this.flushExpired(Date.now()), 5_000).unref();
  }

  /** Returns the position written, or undefined when an anonymous refusal was only counted. */
  async record(event: EndContactRejected, metadata: EventMetadata, clientAddress: string): Promise<bigint | undefined> {
    if (event.data.reason === 'InvalidSecurityUser' && !this.admit(clientAddress, Date.now())) return undefined;
    const day = rejectionStreamId(new Date(event.data.rejectedAt));
    // The same refusal redelivered (same day, command, reason and caller) is written once; a retry refused for
    // another reason or by another caller is a new fact and is recorded.
    const { contactId, reason, agentId } = event.data;
    const id = eventIdFor(`${day}:${contactId}:${metadata.commandId ?? randomUUID()}:${reason}:${agentId ?? '-'}`);
    // Its own stream under the day's name, written with no_stream: the one idempotency every store keeps (see
    // docs/decisions.md: one append, so no crash between two can lose or double it).
    const streamId = `${day}-${id}`;
    try {
      return (await this.store.append(streamId, [{ id, ...event, metadata }], { expectedRevision: 'no_stream' })).position;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || error instanceof StreamDeletedError) throw error;
      // Recorded by an earlier attempt whose answer was lost: answer where.
      const [recorded] = await this.store.readStream(streamId);
      if (recorded?.id !== id) throw error;
      return recorded.position;
    }
  }

  private admit(clientAddress: string, now: number): boolean {
    let window = this.windows.get(clientAddress);
    if (window && now - window.start >= MINUTE) {
      void this.summarise(clientAddress, window);
      window = undefined;
    }
    if (!window) this.windows.set(clientAddress, (window = { start: now, recorded: 0, suppressed: 0 }));
    if (window.recorded < this.config.anonymousRefusalsPerMinute) {
      window.recorded++;
      return true;
    }
    window.suppressed++;
    return false;
  }

  private async flushExpired(now: number): Promise<void> {
    for (const [address, window] of this.windows) {
      if (now - window.start >= MINUTE) {
        this.windows.delete(address);
        await this.summarise(address, window);
      }
    }
  }

  private async summarise(clientAddress: string, window: Window): Promise<void> {
    if (window.suppressed === 0) return;
    const windowEnd = new Date(Math.min(Date.now(), window.start + MINUTE));
    const data = {
      clientAddress,
      count: window.suppressed,
      windowStart: new Date(window.start).toISOString(),
      windowEnd: windowEnd.toISOString(),
      reason: 'InvalidSecurityUser' as const,
    };
    window.suppressed = 0;
    try {
      const correlationId = randomUUID();
      await this.store.append(
        rejectionStreamId(windowEnd),
        [
          {
            id: randomUUID(),
            type: 'EndContactRejectionsSuppressed',
            data,
            metadata: { correlationId, causationId: correlationId, source: 'system', schemaVersion: 1 },
          },
        ],
        { expectedRevision: 'any' },
      );
      this.logger.warn(data, 'unauthenticated refusals summarised');
    } catch (error) {
      this.logger.error({ err: error, ...data }, 'could not record the summary of unauthenticated refusals');
    }
  }

  /** Writes the pending summaries; called once at shutdown, before the store closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const [address, window] of this.windows) await this.summarise(address, window);
    this.windows.clear();
  }
}
