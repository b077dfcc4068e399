/**
 * A wire-level EventStoreDB for the adapter's integration specs: a grpc-js server built from the service definitions
 * and messages that @eventstore/db-client generates from its own .proto files, so the real client talks to it
 * over HTTP/2. It answers like the server for what the adapter uses (stream and $all reads, $all
 * subscriptions with filters, batch appends, the capability query, gossip) over FakeLog, and injects faults.
 * Where the server is strict, so is it (docs/decisions.md, "The fake EventStoreDB is as strict as the server"):
 * - a follower asked with `requires-leader` answers NotLeader naming the leader's endpoint (the client then
 *   reconnects there); without it, it serves reads and forwards writes;
 * - a write's deadline is capped at the write timeout (2 s, the server's default): a write not committed by then
 *   is answered Timeout and may still land; a retry that arrives while the original is not yet committed is
 *   dropped (answered Timeout at its own deadline);
 * - a write larger than the maximum append size (1 MiB, the server's default) is refused;
 * - "Server Is Not Ready" (UNAVAILABLE) while the node starts;
 * - idempotency, positions and deletes as FakeLog says.
 * It never stands in for the contract suite against a real server.
 */
import { createRequire } from 'node:module';
import { FakeLog, comparePositions, type Expected, type LogPosition, type StoredEvent } from './fake-log.js';

export { FakeLog };

const require = createRequire(import.meta.url);
// CommonJS generated code: required, typed by the package's own declarations.
const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
const pb =
  require('@eventstore/db-client/generated/streams_pb.js') as typeof import('@eventstore/db-client/generated/streams_pb.js');
const shared =
  require('@eventstore/db-client/generated/shared_pb.js') as typeof import('@eventstore/db-client/generated/shared_pb.js');
const rpc =
  require('@eventstore/db-client/generated/status_pb.js') as typeof import('@eventstore/db-client/generated/status_pb.js');
const features =
  require('@eventstore/db-client/generated/serverfeatures_pb.js') as typeof import('@eventstore/db-client/generated/serverfeatures_pb.js');
const gossip =
  require('@eventstore/db-client/generated/gossip_pb.js') as typeof import('@eventstore/db-client/generated/gossip_pb.js');
const services = {
  ...(require('@eventstore/db-client/generated/streams_grpc_pb.js') as typeof import('@eventstore/db-client/generated/streams_grpc_pb.js')),
  ...(require('@eventstore/db-client/generated/serverfeatures_grpc_pb.js') as typeof import('@eventstore/db-client/generated/serverfeatures_grpc_pb.js')),
  ...(require('@eventstore/db-client/generated/gossip_grpc_pb.js') as typeof import('@eventstore/db-client/generated/gossip_grpc_pb.js')),
};
const { Any } =
  require('google-protobuf/google/protobuf/any_pb.js') as typeof import('google-protobuf/google/protobuf/any_pb.js');
const { Empty } =
  require('google-protobuf/google/protobuf/empty_pb.js') as typeof import('google-protobuf/google/protobuf/empty_pb.js');

type ReadCall = import('@grpc/grpc-js').ServerWritableStream<
  InstanceType<typeof pb.ReadReq>,
  InstanceType<typeof pb.ReadResp>
>;
type BatchCall = import('@grpc/grpc-js').ServerDuplexStream<
  InstanceType<typeof pb.BatchAppendReq>,
  InstanceType<typeof pb.BatchAppendResp>
>;
type BatchOptions = InstanceType<typeof pb.BatchAppendReq.Options>;
type BatchResponse = InstanceType<typeof pb.BatchAppendResp>;
type Proposal = InstanceType<typeof pb.BatchAppendReq.ProposedMessage>;
type Filter = InstanceType<typeof pb.ReadReq.Options.FilterOptions>;

export interface Faults {
  /** The next N capability queries answer DEADLINE_EXCEEDED (the client caches the first answer). */
  capabilityDeadlines: number;
  /** The next stream read sends this many events, then waits until the client goes away. */
  stallNextStreamRead?: number;
  /** The batch-append stream breaks on the next append, before or after the events are written. */
  breakNextBatch?: 'before-write' | 'after-write';
  /** Operations refused with AccessDenied, as a secure cluster refuses a user without the rights. */
  accessDenied: Set<'read-all' | 'append'>;
  /**
   * The next append commits this many ms after it arrives (a slow quorum), or only when `commitHeld()` is called;
   * past the write timeout its caller gets Timeout, and the write lands all the same.
   */
  slowNextCommit?: number | 'held';
  /** Every call answers UNAVAILABLE "Server Is Not Ready", as a node does until it has joined its cluster. */
  notReady: boolean;
}

export interface FakeEsdbOptions {
  /** The log this node serves: share one between nodes to make a cluster (test/harness/esdb-cluster.ts). */
  log?: FakeLog;
  /** The server's write timeout, which caps every write's deadline. Default 2000 ms, as the server's. */
  writeTimeoutMs?: number;
  /** The largest write, in bytes of data, metadata and type. Default 1 MiB, as the server's. */
  maxAppendSize?: number;
}

export type Endpoint = { address: string; port: number };

/** The server's default maximum append size (MaxAppendSize): 1 MiB. */
export const MAX_APPEND_SIZE = 1_048_576;
/** The server's default write timeout (WriteTimeoutMs). */
export const WRITE_TIMEOUT_MS = 2_000;

export class FakeEsdb {
  readonly log: FakeLog;
  readonly faults: Faults = { capabilityDeadlines: 0, accessDenied: new Set(), notReady: false };
  /** What the client asked: counted so tests can see a cached answer or a read-back. */
  readonly calls = {
    capabilities: 0,
    streamReads: 0,
    allReads: 0,
    appends: 0,
    /** Calls answered NotLeader. */
    notLeader: 0,
    /** Writes answered Timeout, and retries dropped because their original was not committed yet. */
    timeouts: 0,
    dropped: 0,
    gossip: 0,
  };
  /** This node's place in its cluster; a follower names `leader` in its NotLeader answers. */
  role: 'leader' | 'follower' = 'leader';
  leader: Endpoint | undefined;
  /** What gossip answers (a cluster sets it); a lone node answers itself as leader. */
  members: (() => Array<{ endpoint: Endpoint; state: 'leader' | 'follower'; alive: boolean }>) | undefined;
  readonly writeTimeoutMs: number;
  readonly maxAppendSize: number;
  private readonly server = new grpc.Server();
  private port = 0;
  /** Event IDs of writes accepted and not committed yet. */
  private readonly uncommitted = new Set<string>();
  private readonly held: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(options: FakeEsdbOptions) {
    this.log = options.log ?? new FakeLog();
    this.writeTimeoutMs = options.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
    this.maxAppendSize = options.maxAppendSize ?? MAX_APPEND_SIZE;
  }

  static async start(options: FakeEsdbOptions = {}): Promise<FakeEsdb> {
    const fake = new FakeEsdb(options);
    fake.server.addService(services.StreamsService, {
      read: (call: ReadCall) => fake.read(call),
      batchAppend: (call: BatchCall) => fake.batchAppend(call),
    });
    fake.server.addService(services.ServerFeaturesService, {
      getSupportedMethods: (_call: unknown, callback: (error: object | null, value?: unknown) => void) =>
        fake.supportedMethods(callback),
    });
    fake.server.addService(services.GossipService, {
      read: (_call: unknown, callback: (error: object | null, value?: unknown) => void) => fake.gossip(callback),
    });
    fake.port = await new Promise<number>((resolve, reject) =>
      fake.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    return fake;
  }

  get endpoint(): Endpoint {
    return { address: '127.0.0.1', port: this.port };
  }

  connectionString(query = ''): string {
    return `esdb://127.0.0.1:${this.port}?tls=false${query}`;
  }

  /** Becomes a follower of `leader`: asked for the leader, it names it. */
  follow(leader: Endpoint): void {
    this.role = 'follower';
    this.leader = leader;
  }

  lead(): void {
    this.role = 'leader';
    this.leader = undefined;
  }

  /** Commits the writes `slowNextCommit: 'held'` holds. */
  commitHeld(): void {
    for (const commit of this.held.splice(0)) commit();
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.forceShutdown();
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }

  /** The answer of a node that is not ready, or of a follower asked for the leader; undefined when it serves. */
  private refusal(metadata: import('@grpc/grpc-js').Metadata): object | undefined {
    if (this.faults.notReady) return { code: grpc.status.UNAVAILABLE, details: 'Server Is Not Ready' };
    if (this.role === 'follower' && metadata.get('requires-leader')[0] === 'true' && this.leader !== undefined) {
      this.calls.notLeader++;
      const trailer = new grpc.Metadata();
      trailer.set('exception', 'not-leader');
      trailer.set('leader-endpoint-host', this.leader.address);
      trailer.set('leader-endpoint-port', String(this.leader.port));
      return { code: grpc.status.NOT_FOUND, details: 'Leader info available', metadata: trailer };
    }
    return undefined;
  }

  private gossip(callback: (error: object | null, value?: unknown) => void): void {
    this.calls.gossip++;
    if (this.faults.notReady) return callback({ code: grpc.status.UNAVAILABLE, details: 'Server Is Not Ready' });
    const members = this.members?.() ?? [{ endpoint: this.endpoint, state: 'leader' as const, alive: true }];
    const State = gossip.MemberInfo.VNodeState;
    callback(
      null,
      new gossip.ClusterInfo().setMembersList(
        members.map((m, i) =>
          new gossip.MemberInfo()
            .setInstanceId(new shared.UUID().setString(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`))
            .setTimeStamp(String(Date.now()))
            .setState(m.state === 'leader' ? State.LEADER : State.FOLLOWER)
            .setIsAlive(m.alive)
            .setHttpEndPoint(new gossip.EndPoint().setAddress(m.endpoint.address).setPort(m.endpoint.port)),
        ),
      ),
    );
  }

  private supportedMethods(callback: (error: object | null, value?: unknown) => void): void {
    this.calls.capabilities++;
    if (this.faults.capabilityDeadlines > 0) {
      this.faults.capabilityDeadlines--;
      return callback({ code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline Exceeded' });
    }
    const batchAppend = new features.SupportedMethod()
      .setServiceName('event_store.client.streams.streams')
      .setMethodName('batchappend');
    const read = new features.SupportedMethod()
      .setServiceName('event_store.client.streams.streams')
      .setMethodName('read');
    callback(
      null,
      new features.SupportedMethods().setMethodsList([batchAppend, read]).setEventStoreServerVersion('24.10.0'),
    );
  }

  private read(call: ReadCall): void {
    const refused = this.refusal(call.metadata);
    if (refused !== undefined) return void call.emit('error', refused);
    const options = call.request.getOptions()!;
    const count = options.hasCount() ? BigInt(options.getCount()) : undefined;
    const backwards = options.getReadDirection() === pb.ReadReq.Options.ReadDirection.BACKWARDS;
    if (options.hasStream()) return this.readStream(call, options.getStream()!, count ?? 0n, backwards);
    const all = options.getAll()!;
    const from: LogPosition | 'start' | 'end' = all.hasPosition()
      ? {
          commit: BigInt(all.getPosition()!.getCommitPosition()),
          prepare: BigInt(all.getPosition()!.getPreparePosition()),
        }
      : all.hasEnd()
        ? 'end'
        : 'start';
    const filter = options.hasFilter() ? options.getFilter()! : undefined;
    this.calls.allReads++;
    if (this.faults.accessDenied.has('read-all'))
      return void call.emit('error', exception(grpc.status.PERMISSION_DENIED, 'access-denied', 'Access denied'));
    if (options.hasSubscription()) return this.subscribe(call, from, filter);
    let events = this.log.all.filter((e) => matches(filter, e));
    if (backwards)
      events = events.filter((e) => from === 'end' || (from !== 'start' && comparePositions(e, from) < 0)).reverse();
    else events = events.filter((e) => from === 'start' || (from !== 'end' && comparePositions(e, from) >= 0));
    for (const event of events.slice(0, Number(count ?? 0n))) call.write(eventResponse(event, true));
    call.end();
  }

  private readStream(
    call: ReadCall,
    options: InstanceType<typeof pb.ReadReq.Options.StreamOptions>,
    count: bigint,
    backwards: boolean,
  ): void {
    this.calls.streamReads++;
    const streamId = Buffer.from(options.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8');
    if (this.log.isTombstoned(streamId)) {
      return void call.emit(
        'error',
        exception(
          grpc.status.FAILED_PRECONDITION,
          'stream-deleted',
          `Event stream '${streamId}' is deleted.`,
          streamId,
        ),
      );
    }
    const stream = this.log.readable(streamId);
    if (stream === undefined) {
      const notFound = new pb.ReadResp.StreamNotFound().setStreamIdentifier(
        new shared.StreamIdentifier().setStreamName(Buffer.from(streamId)),
      );
      call.write(new pb.ReadResp().setStreamNotFound(notFound));
      return void call.end();
    }
    const last = stream[stream.length - 1]!.revision;
    const from = options.hasRevision()
      ? BigInt(options.getRevision())
      : options.hasEnd()
        ? last
        : backwards
          ? last
          : 0n;
    const selected = (
      backwards ? [...stream].reverse().filter((e) => e.revision <= from) : stream.filter((e) => e.revision >= from)
    ).slice(0, Number(count));
    const stallAfter = this.faults.stallNextStreamRead;
    delete this.faults.stallNextStreamRead;
    for (const event of stallAfter === undefined ? selected : selected.slice(0, stallAfter))
      call.write(eventResponse(event, false));
    // A stalled read stays open until the client cancels it or the server stops.
    if (stallAfter === undefined) call.end();
  }

  private subscribe(call: ReadCall, from: LogPosition | 'start' | 'end', filter: Filter | undefined): void {
    call.write(new pb.ReadResp().setConfirmation(new pb.ReadResp.SubscriptionConfirmation().setSubscriptionId('fake')));
    const deliver = (event: StoredEvent): void => {
      if (matches(filter, event)) call.write(eventResponse(event, true));
    };
    // Subscriptions start strictly after their position, as the server's do.
    for (const event of this.log.all) {
      if (from === 'end') break;
      if (from === 'start' || comparePositions(event, from) > 0) deliver(event);
    }
    const stop = this.log.onAppend(deliver);
    call.on('cancelled', stop);
    call.on('close', stop);
  }

  private batchAppend(call: BatchCall): void {
    const pending = new Map<string, { options: BatchOptions; messages: Proposal[] }>();
    let failed = false;
    const fail = (error: object): void => {
      failed = true;
      call.emit('error', error);
    };
    call.on('data', (request: InstanceType<typeof pb.BatchAppendReq>) => {
      if (failed) return;
      const key = request.getCorrelationId()!.getString();
      const entry = pending.get(key) ?? { options: request.getOptions()!, messages: [] };
      entry.messages.push(...request.getProposedMessagesList());
      pending.set(key, entry);
      if (!request.getIsFinal()) return;
      pending.delete(key);
      this.calls.appends++;
      // The server checks per write: a node that stopped leading refuses the next one on an open stream.
      const refused = this.refusal(call.metadata);
      if (refused !== undefined) return fail(refused);
      const fault = this.faults.breakNextBatch;
      delete this.faults.breakNextBatch;
      if (fault !== undefined) {
        if (fault === 'after-write') this.appendOne(request.getCorrelationId()!, entry.options, entry.messages);
        return fail({ code: grpc.status.UNAVAILABLE, details: 'fault: batch-append stream broke' });
      }
      this.commit(request.getCorrelationId()!, entry.options, entry.messages, (response) => {
        if (!failed && !call.cancelled && call.writable) call.write(response);
      });
    });
    call.on('end', () => call.end());
  }

  /**
   * Answers a write once it is committed, or Timeout at its deadline capped by the write timeout, whichever comes
   * first. A write whose events are already on their way (not committed yet) is dropped: only the Timeout answers.
   */
  private commit(
    correlationId: InstanceType<typeof shared.UUID>,
    options: BatchOptions,
    messages: Proposal[],
    answer: (response: BatchResponse) => void,
  ): void {
    const ids = messages.map((m) => m.getId()!.getString());
    const requested = options.hasDeadline() ? options.getDeadline()!.toDate().getTime() - Date.now() : Infinity;
    const waitMs = Math.max(0, Math.min(requested, this.writeTimeoutMs));
    let answered = false;
    const once = (response: BatchResponse): void => {
      if (answered) return;
      answered = true;
      answer(response);
    };
    const timeout = (): void => {
      if (answered) return;
      this.calls.timeouts++;
      once(
        new pb.BatchAppendResp()
          .setCorrelationId(correlationId)
          .setStreamIdentifier(options.getStreamIdentifier())
          .setError(status(4, 'Timeout', new shared.Timeout(), 'Timeout')),
      );
    };
    if (ids.some((id) => this.uncommitted.has(id))) {
      this.calls.dropped++;
      return this.later(waitMs, timeout);
    }
    const slow = this.faults.slowNextCommit;
    delete this.faults.slowNextCommit;
    if (slow === undefined) return once(this.appendOne(correlationId, options, messages));
    for (const id of ids) this.uncommitted.add(id);
    const land = (): void => {
      for (const id of ids) this.uncommitted.delete(id);
      once(this.appendOne(correlationId, options, messages));
    };
    if (slow === 'held') this.held.push(land);
    else this.later(slow, land);
    this.later(waitMs, timeout);
  }

  private appendOne(
    correlationId: InstanceType<typeof shared.UUID>,
    options: BatchOptions,
    messages: Proposal[],
  ): BatchResponse {
    const identifier = options.getStreamIdentifier()!;
    const streamId = Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
    const response = new pb.BatchAppendResp().setCorrelationId(correlationId).setStreamIdentifier(identifier);
    if (this.faults.accessDenied.has('append'))
      return response.setError(status(7, 'Access denied', new shared.AccessDenied(), 'AccessDenied'));
    const proposed = messages.map((m) => ({
      id: m.getId()!.getString(),
      type: m.getMetadataMap().get('type') ?? '',
      contentType: m.getMetadataMap().get('content-type') ?? 'application/octet-stream',
      data: m.getData_asU8(),
      metadata: m.getCustomMetadata_asU8(),
    }));
    const size = proposed.reduce((sum, p) => sum + p.data.length + p.metadata.length + p.type.length, 0);
    if (size > this.maxAppendSize)
      return response.setError(
        status(
          3,
          'Maximum Append Size Exceeded',
          new shared.MaximumAppendSizeExceeded().setMaxappendsize(this.maxAppendSize),
          'MaximumAppendSizeExceeded',
        ),
      );
    const expected: Expected = options.hasStreamPosition()
      ? { kind: 'revision', revision: BigInt(options.getStreamPosition()) }
      : options.hasNoStream()
        ? { kind: 'no_stream' }
        : options.hasStreamExists()
          ? { kind: 'stream_exists' }
          : { kind: 'any' };
    const outcome = this.log.append(streamId, expected, proposed);
    switch (outcome.kind) {
      case 'written':
      case 'idempotent': {
        // The last event's position, for an idempotent retry too.
        const success = new pb.BatchAppendResp.Success()
          .setCurrentRevision(outcome.revision.toString())
          .setPosition(
            new shared.AllStreamPosition()
              .setCommitPosition(`${outcome.position.commit}`)
              .setPreparePosition(`${outcome.position.prepare}`),
          );
        return response.setSuccess(success);
      }
      case 'wrong_expected_version': {
        const details = new shared.WrongExpectedVersion();
        if (outcome.current === undefined) details.setCurrentNoStream(new Empty());
        else details.setCurrentStreamRevision(outcome.current.toString());
        return response.setError(status(9, 'WrongExpectedVersion', details, 'WrongExpectedVersion'));
      }
      case 'stream_deleted':
        return response.setError(
          status(9, 'StreamDeleted', new shared.StreamDeleted().setStreamIdentifier(identifier), 'StreamDeleted'),
        );
    }
  }
}

function eventResponse(event: StoredEvent, withCommitPosition: boolean): InstanceType<typeof pb.ReadResp> {
  const recorded = new pb.ReadResp.ReadEvent.RecordedEvent()
    .setId(new shared.UUID().setString(event.id))
    .setStreamIdentifier(new shared.StreamIdentifier().setStreamName(Buffer.from(event.streamId)))
    .setStreamRevision(event.revision.toString())
    .setCommitPosition(event.commit.toString())
    .setPreparePosition(event.prepare.toString())
    .setCustomMetadata(event.metadata)
    .setData(event.data);
  recorded
    .getMetadataMap()
    .set('type', event.type)
    .set('content-type', event.contentType)
    .set('created', event.created.toString());
  const read = new pb.ReadResp.ReadEvent().setEvent(recorded);
  if (withCommitPosition) read.setCommitPosition(event.commit.toString());
  else read.setNoPosition(new shared.Empty());
  return new pb.ReadResp().setEvent(read);
}

/** The server-side filter of a read or subscription: a regex or prefixes, on the stream name or the event type. */
function matches(filter: Filter | undefined, event: StoredEvent): boolean {
  if (filter === undefined) return true;
  const expression = filter.hasStreamIdentifier() ? filter.getStreamIdentifier()! : filter.getEventType()!;
  const subject = filter.hasStreamIdentifier() ? event.streamId : event.type;
  const prefixes = expression.getPrefixList();
  if (prefixes.length > 0) return prefixes.some((p) => subject.startsWith(p));
  return new RegExp(expression.getRegex()).test(subject);
}

/** A google.rpc.Status carrying one of the client's error messages, as the server answers a failed batch append. */
function status(
  code: number,
  message: string,
  details: { serializeBinary(): Uint8Array },
  type: string,
): InstanceType<typeof rpc.Status> {
  const any = new Any();
  any.pack(details.serializeBinary(), `event_store.client.${type}`);
  return new rpc.Status().setCode(code).setMessage(message).setDetails(any);
}

/** A call-level error with the `exception` trailer the client maps to its error classes. */
function exception(code: number, kind: string, details: string, streamName?: string): object {
  const metadata = new grpc.Metadata();
  metadata.set('exception', kind);
  if (streamName !== undefined) metadata.set('stream-name', streamName);
  return { code, details, metadata };
}
