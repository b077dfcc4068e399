/**
 * The log behind the fault harness: streams, $all and the append rules of EventStoreDB as its server applies
 * them (KurrentDB's IndexWriter.CheckCommit), so that the adapter meets the server's semantics and not ours:
 * - an exact expected revision (or no_stream) that the stream has moved past is idempotent only when the
 *   events right after it carry the same IDs; otherwise it is a wrong expected version;
 * - with any / stream_exists, a repeated ID is recognised only from ONE bounded cache of recent IDs shared by
 *   every stream (the server's is 8 MiB, about 50,000 IDs), which a restart or a leader change empties
 *   (forgetRecentIds); a retry whose first event is found there but a later one is not is a wrong expected
 *   version (the server's "corrupted idempotency"), never a second write;
 * - a soft-deleted stream reads as not found; the next append with no_stream, any or its last revision recreates
 *   it, its revisions going on from the last one; a tombstoned stream refuses reads and appends (stream deleted).
 * Positions: every event has its own commit position (prepare = commit); the server answers a write, and an
 * idempotent retry of it, with the position of its LAST event.
 */
export type LogPosition = { commit: bigint; prepare: bigint };

export type StoredEvent = LogPosition & {
  id: string;
  streamId: string;
  revision: bigint;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
  /** .NET ticks (100 ns since the epoch), as the server sends `created`. */
  created: bigint;
};

export type Proposed = Pick<StoredEvent, 'id' | 'type' | 'contentType' | 'data' | 'metadata'>;

export type Expected =
  { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'revision'; revision: bigint };

export type AppendOutcome =
  | { kind: 'written'; revision: bigint; position: LogPosition }
  | { kind: 'idempotent'; revision: bigint; position: LogPosition }
  | { kind: 'wrong_expected_version'; current: bigint | undefined }
  | { kind: 'stream_deleted' };

/** About what the server's 8 MiB cache of committed event IDs holds. */
export const RECENT_IDS = 50_000;
const POSITION_STEP = 100n;

export const comparePositions = (a: LogPosition, b: LogPosition): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

export class FakeLog {
  /** $all in log order. */
  readonly all: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly tombstoned = new Set<string>();
  /** Soft-deleted streams: the first revision reads show (the $tb the server writes in the stream's metadata). */
  private readonly truncatedBefore = new Map<string, bigint>();
  /** Recent event IDs of every stream, oldest first: where each was written. */
  private readonly recentIds = new Map<string, { streamId: string; revision: bigint }>();
  private readonly listeners = new Set<(event: StoredEvent) => void>();
  private nextPosition = POSITION_STEP;

  /** @param recentIdCapacity how many event IDs the idempotency cache of any / stream_exists keeps, in all. */
  constructor(private readonly recentIdCapacity = RECENT_IDS) {}

  append(streamId: string, expected: Expected, proposed: Proposed[]): AppendOutcome {
    if (this.tombstoned.has(streamId)) return { kind: 'stream_deleted' };
    const stream = this.streams.get(streamId) ?? [];
    const last = stream.length === 0 ? -1n : stream[stream.length - 1]!.revision;
    const softDeleted = this.isSoftDeleted(streamId);
    // A soft-deleted stream is no stream to expected revisions, except its last revision, which still holds.
    const current = softDeleted && !(expected.kind === 'revision' && expected.revision === last) ? -1n : last;
    const wrong = { kind: 'wrong_expected_version', current: current < 0n ? undefined : current } as const;

    if (expected.kind === 'no_stream' || expected.kind === 'revision') {
      const from = expected.kind === 'no_stream' ? -1n : expected.revision;
      if (from > current) return wrong;
      if (from < current) {
        const after = stream.slice(Number(from + 1n), Number(from + 1n) + proposed.length);
        const same = after.length === proposed.length && after.every((e, i) => e.id === proposed[i]!.id);
        return same ? this.idempotent(after) : wrong;
      }
    } else {
      if (expected.kind === 'stream_exists' && current < 0n) return wrong;
      const first = this.recentIds.get(proposed[0]!.id);
      if (first !== undefined && first.streamId === streamId) {
        const same = proposed.every((p, i) => {
          const seen = this.recentIds.get(p.id);
          return seen?.streamId === streamId && seen.revision === first.revision + BigInt(i);
        });
        const events = stream.slice(Number(first.revision), Number(first.revision) + proposed.length);
        return same && events.length === proposed.length ? this.idempotent(events) : wrong;
      }
    }
    return { kind: 'written', ...this.write(streamId, stream, last, proposed) };
  }

  private idempotent(events: StoredEvent[]): AppendOutcome {
    const lastEvent = events[events.length - 1]!;
    return {
      kind: 'idempotent',
      revision: lastEvent.revision,
      position: { commit: lastEvent.commit, prepare: lastEvent.prepare },
    };
  }

  private write(
    streamId: string,
    stream: StoredEvent[],
    current: bigint,
    proposed: Proposed[],
  ): { revision: bigint; position: LogPosition } {
    const created = BigInt(Date.now()) * 10_000n;
    let revision = current;
    const written = proposed.map((p) => {
      revision += 1n;
      const commit = this.nextPosition;
      this.nextPosition += POSITION_STEP;
      this.recentIds.delete(p.id);
      this.recentIds.set(p.id, { streamId, revision });
      if (this.recentIds.size > this.recentIdCapacity) this.recentIds.delete(this.recentIds.keys().next().value!);
      return { ...p, streamId, revision, commit, prepare: commit, created };
    });
    stream.push(...written);
    this.streams.set(streamId, stream);
    this.all.push(...written);
    for (const event of written) for (const listener of this.listeners) listener(event);
    const lastEvent = written[written.length - 1]!;
    return { revision, position: { commit: lastEvent.commit, prepare: lastEvent.prepare } };
  }

  /** What a server restart or a leader change does to idempotency with any / stream_exists. */
  forgetRecentIds(): void {
    this.recentIds.clear();
  }

  /** Deletes a stream softly (the client's deleteStream): reads find nothing, a later append recreates it. */
  softDelete(streamId: string): void {
    const stream = this.streams.get(streamId);
    if (stream !== undefined) this.truncatedBefore.set(streamId, stream[stream.length - 1]!.revision + 1n);
  }

  /** Deleted softly and not recreated since. */
  isSoftDeleted(streamId: string): boolean {
    const stream = this.streams.get(streamId);
    const from = this.truncatedBefore.get(streamId);
    return stream !== undefined && from !== undefined && stream[stream.length - 1]!.revision < from;
  }

  /** What a stream read sees: the events after a soft delete, or undefined (not found). */
  readable(streamId: string): StoredEvent[] | undefined {
    const from = this.truncatedBefore.get(streamId) ?? 0n;
    const events = this.streams.get(streamId)?.filter((e) => e.revision >= from);
    return events === undefined || events.length === 0 ? undefined : events;
  }

  tombstone(streamId: string): void {
    this.tombstoned.add(streamId);
  }

  isTombstoned(streamId: string): boolean {
    return this.tombstoned.has(streamId);
  }

  stream(streamId: string): StoredEvent[] | undefined {
    return this.streams.get(streamId);
  }

  /** Appends without checks: system events, another writer's events. */
  seed(streamId: string, type: string, data: unknown = {}): StoredEvent {
    const stream = this.streams.get(streamId) ?? [];
    const current = stream.length === 0 ? -1n : stream[stream.length - 1]!.revision;
    const bytes = new TextEncoder().encode(JSON.stringify(data));
    const proposed: Proposed = {
      id: crypto.randomUUID(),
      type,
      contentType: 'application/json',
      data: bytes,
      metadata: new Uint8Array(),
    };
    this.write(streamId, stream, current, [proposed]);
    return stream[stream.length - 1]!;
  }

  onAppend(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
