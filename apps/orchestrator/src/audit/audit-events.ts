/**
 * The audit export (docs/design.md, Audit and replay): every event of the log in order, one NDJSON line each, filtered. Read a page at a
 * time and handed out line by line, so whoever writes the lines (an HTTP response, a file) decides when the next
 * page is read: memory stays one page whatever the range. Shared by GET /v1/audit/events and `npm run audit:export`;
 * no framework here.
 */
import type { RecordedEvent } from '#event-store';
import { nextTurn } from '#runtime';
import type { PointInTime } from '../read-side/point-in-time.js';

/** What a filter looks at in an event, and its line. */
export type AuditRecord = {
  position: bigint;
  type: string;
  recordedAtMs: number;
  businessUnitId?: unknown;
  contactId?: unknown;
  endedBy?: unknown;
  agentId?: unknown;
  /** `{position, recordedAt, streamId, type, data, metadata}` as JSON, without the newline. */
  line(): string;
};

/** Reads the log: a page of records strictly after `after`, in position order. */
export type LogPages = {
  head(): Promise<bigint | undefined>;
  page(after: bigint, maxCount: number): Promise<AuditRecord[]>;
  /**
   * Where the store can: a reader of at most `maxCount` records in (after, upTo] that may pass `filter` (a superset:
   * each still goes through matches()), the filter applied where the rows are, in position order. Made once per
   * export.
   */
  scanner?(filter: AuditFilter): Scan;
};

export type Scan = (after: bigint, upTo: bigint, maxCount: number) => Promise<AuditRecord[]>;

export type AuditFilter = {
  /** Inclusive; a time means the events recorded at or after it. */
  from?: PointInTime;
  /** Inclusive; a time means the events recorded at or before it. Never past the head when the export starts. */
  to?: PointInTime;
  businessUnitId?: string;
  /** Events naming the agent: its directory events, the contacts it ended, its refusals. */
  agentId?: string;
  contactId?: string;
  type?: string;
  /** An auditor of a business unit: its contacts' events and its refusals, nothing of the directory. */
  contactEventsOnly?: boolean;
};

const CONTACT_EVENT_TYPES = new Set(['ContactStarted', 'ContactEnded', 'EndContactRejected']);
const PAGE = 500;
/** Positions a scan reads at a time: a few milliseconds of SQLite, then a turn of the event loop. */
const SCAN_WINDOW = 5_000n;
const CLOCK_SKEW_MS = 60_000;

/** A recorded event of any store (the port), as a record. */
export function recordOf(event: RecordedEvent): AuditRecord {
  const data = event.data;
  return {
    position: event.position,
    type: event.type,
    recordedAtMs: event.recordedAt.getTime(),
    businessUnitId: data['businessUnitId'],
    contactId: data['contactId'],
    endedBy: data['endedBy'],
    agentId: data['agentId'],
    line: () =>
      JSON.stringify({
        position: event.position.toString(),
        recordedAt: event.recordedAt.toISOString(),
        streamId: event.streamId,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
      }),
  };
}

/** Pages of any store through the EventStore port. */
export const pagesOf = (store: {
  headPosition(): Promise<bigint | undefined>;
  readAll(o: { after: bigint; maxCount: number }): Promise<RecordedEvent[]>;
}): LogPages => ({
  head: () => store.headPosition(),
  page: async (after, maxCount) => (await store.readAll({ after, maxCount })).map(recordOf),
});

export function matches(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.contactEventsOnly && !CONTACT_EVENT_TYPES.has(record.type)) return false;
  if (filter.type !== undefined && record.type !== filter.type) return false;
  if (filter.businessUnitId !== undefined && record.businessUnitId !== filter.businessUnitId) return false;
  if (filter.contactId !== undefined && record.contactId !== filter.contactId) return false;
  if (filter.agentId !== undefined && record.endedBy !== filter.agentId && record.agentId !== filter.agentId)
    return false;
  if (filter.from && 'time' in filter.from && record.recordedAtMs < filter.from.time.getTime()) return false;
  return true;
}

/** Where the export stops: the `to` position, or the head when it starts, whichever comes first. */
export async function exportEnd(log: LogPages, filter: AuditFilter): Promise<bigint> {
  const head = (await log.head()) ?? 0n;
  return filter.to && 'position' in filter.to && filter.to.position < head ? filter.to.position : head;
}

export type ExportProgress = { position: bigint; end: bigint; lines: number };

/**
 * The matching events from `from` to `end`, as lines (no newline). `onPage` is told how far the scan got after
 * each page (progress bars). The caller pulls: nothing is read ahead of what it consumed but the current page.
 */
export async function* auditLines(
  log: LogPages,
  filter: AuditFilter,
  end: bigint,
  onPage?: (progress: ExportProgress) => void,
): AsyncGenerator<string> {
  let after = filter.from && 'position' in filter.from ? filter.from.position - 1n : 0n;
  if (after < 0n) after = 0n;
  const until = filter.to && 'time' in filter.to ? filter.to.time.getTime() : undefined;
  let lines = 0;
  const scan = log.scanner?.(filter);
  while (after < end) {
    const upTo = after + SCAN_WINDOW < end ? after + SCAN_WINDOW : end;
    const page = scan ? await scan(after, upTo, PAGE) : await log.page(after, PAGE);
    if (page.length === 0 && !scan) break;
    for (const record of page) {
      if (record.position > end) return;
      if (until !== undefined && record.recordedAtMs > until) {
        // Times follow log order but for clock skew between two processes on one log: a minute past `to` ends it.
        if (record.recordedAtMs > until + CLOCK_SKEW_MS) return;
        continue;
      }
      if (!matches(record, filter)) continue;
      lines++;
      yield record.line();
    }
    // A scan that filled its page goes on from its last record; one that did not has covered its window.
    after = scan && page.length < PAGE ? upTo : page[page.length - 1]!.position;
    onPage?.({ position: after < end ? after : end, end, lines });
    // A page of the embedded log is read synchronously: without a turn of the loop between pages, a filter that
    // matches little (nothing written, so no socket drain to wait for) would scan the whole log before a request is
    // served.
    await nextTurn();
  }
}
