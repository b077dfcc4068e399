/**
 * The log behind the fault harness: streams, $all and the append rules of EventStoreDB as its server applies
 * them (KurrentDB's IndexWriter.CheckCommit), so that the adapter meets the server's semantics and not ours:
 * - an exact expected revision (or no_stream) that the stream has moved past is idempotent only when the
 *   events right after it carry the same IDs; otherwise it is a wrong expected version;
 * - with any / stream_exists, a repeated ID is recognised only from a bounded cache of recent IDs, which a
 *   restart or a leader change empties (forgetRecentIds);
 * - a tombstoned stream refuses reads and appends (stream deleted).
 * Positions: the events of one write share the write's commit position and each has its own prepare
 * position; the server answers a write with the first event's position.
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
  | { kind: 'idempotent'; revision: bigint }
  | { kind: 'wrong_expected_version'; current: bigint | undefined }
  | { kind: 'stream_deleted' };

const RECENT_IDS_PER_STREAM = 1_000;
const POSITION_STEP = 100n;

export const comparePositions = (a: LogPosition, b: LogPosition): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

export class FakeLog {
  /** $all in log order. */
  readonly all: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly tombstoned = new Set<string>();
  private readonly recentIds = new Map<string, Map<string, bigint>>();
  private readonly listeners = new Set<(event: StoredEvent) => void>();
  private nextPosition = POSITION_STEP;

  append(streamId: string, expected: Expected, proposed: Proposed[]): AppendOutcome {
    if (this.tombstoned.has(streamId)) return { kind: 'stream_deleted' };
    const stream = this.streams.get(streamId) ?? [];
    const current = stream.length === 0 ? -1n : stream[stream.length - 1]!.revision;
    const wrong = { kind: 'wrong_expected_version', current: current < 0n ? undefined : current } as const;

    if (expected.kind === 'no_stream' || expected.kind === 'revision') {
      const from = expected.kind === 'no_stream' ? -1n : expected.revision;
      if (from > current) return wrong;
      if (from < current) {
        const after = stream.slice(Number(from + 1n), Number(from + 1n) + proposed.length);
        const same = after.length === proposed.length && after.every((e, i) => e.id === proposed[i]!.id);
        return same ? { kind: 'idempotent', revision: from + BigInt(proposed.length) } : wrong;
      }
    } else {
      if (expected.kind === 'stream_exists' && current < 0n) return wrong;
      const recent = this.recentIds.get(streamId);
      const revisions = proposed.map((p) => recent?.get(p.id));
      if (revisions.every((r) => r !== undefined))
        return { kind: 'idempotent', revision: revisions[revisions.length - 1]! };
    }
    return { kind: 'written', ...this.write(streamId, stream, current, proposed) };
  }

  private write(
    streamId: string,
    stream: StoredEvent[],
    current: bigint,
    proposed: Proposed[],
  ): { revision: bigint; position: LogPosition } {
    const commit = this.nextPosition;
    const created = BigInt(Date.now()) * 10_000n;
    const recent = this.recentIds.get(streamId) ?? new Map<string, bigint>();
    this.recentIds.set(streamId, recent);
    let revision = current;
    const written = proposed.map((p) => {
      revision += 1n;
      const prepare = this.nextPosition;
      this.nextPosition += POSITION_STEP;
      recent.set(p.id, revision);
      if (recent.size > RECENT_IDS_PER_STREAM) recent.delete(recent.keys().next().value!);
      return { ...p, streamId, revision, commit, prepare, created };
    });
    stream.push(...written);
    this.streams.set(streamId, stream);
    this.all.push(...written);
    for (const event of written) for (const listener of this.listeners) listener(event);
    return { revision, position: { commit, prepare: commit } };
  }

  /** What a server restart or a leader change does to idempotency with any / stream_exists. */
  forgetRecentIds(): void {
    this.recentIds.clear();
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
