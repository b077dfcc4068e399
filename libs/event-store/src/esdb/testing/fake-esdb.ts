/**
 * A wire-level EventStoreDB for the adapter's integration specs: a grpc-js server built from the service definitions
 * and messages that @eventstore/db-client generates from its own .proto files, so the real client talks to it
 * over HTTP/2. It answers like the server for what the adapter uses (stream and $all reads, $all
 * subscriptions with filters, batch appends, the capability query) over FakeLog, and injects faults.
 * It never stands in for the contract suite against a real server.
 */
import { createRequire } from 'node:module';
import { FakeLog, comparePositions, type Expected, type LogPosition, type StoredEvent } from './fake-log.js';

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
const services = {
  ...(require('@eventstore/db-client/generated/streams_grpc_pb.js') as typeof import('@eventstore/db-client/generated/streams_grpc_pb.js')),
  ...(require('@eventstore/db-client/generated/serverfeatures_grpc_pb.js') as typeof import('@eventstore/db-client/generated/serverfeatures_grpc_pb.js')),
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
}

export class FakeEsdb {
  readonly log = new FakeLog();
  readonly faults: Faults = { capabilityDeadlines: 0, accessDenied: new Set() };
  /** What the client asked: counted so tests can see a cached answer or a read-back. */
  readonly calls = { capabilities: 0, streamReads: 0, allReads: 0, appends: 0 };
  private readonly server = new grpc.Server();
  private port = 0;

  static async start(): Promise<FakeEsdb> {
    const fake = new FakeEsdb();
    fake.server.addService(services.StreamsService, {
      read: (call: ReadCall) => fake.read(call),
      batchAppend: (call: BatchCall) => fake.batchAppend(call),
    });
    fake.server.addService(services.ServerFeaturesService, {
      getSupportedMethods: (_call: unknown, callback: (error: object | null, value?: unknown) => void) =>
        fake.supportedMethods(callback),
    });
    fake.port = await new Promise<number>((resolve, reject) =>
      fake.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    return fake;
  }

  connectionString(query = ''): string {
    return `esdb://127.0.0.1:${this.port}?tls=false${query}`;
  }

  async stop(): Promise<void> {
    this.server.forceShutdown();
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
    const stream = this.log.stream(streamId);
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
    const pending = new Map<
      string,
      { options: BatchOptions; messages: InstanceType<typeof pb.BatchAppendReq.ProposedMessage>[] }
    >();
    call.on('data', (request: InstanceType<typeof pb.BatchAppendReq>) => {
      const key = request.getCorrelationId()!.getString();
      const entry = pending.get(key) ?? { options: request.getOptions()!, messages: [] };
      entry.messages.push(...request.getProposedMessagesList());
      pending.set(key, entry);
      if (!request.getIsFinal()) return;
      pending.delete(key);
      this.calls.appends++;
      const fault = this.faults.breakNextBatch;
      delete this.faults.breakNextBatch;
      const response = this.appendOne(
        request.getCorrelationId()!,
        entry.options,
        entry.messages,
        fault !== 'before-write',
      );
      if (fault !== undefined)
        return void call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'fault: batch-append stream broke' });
      call.write(response);
    });
    call.on('end', () => call.end());
  }

  private appendOne(
    correlationId: InstanceType<typeof shared.UUID>,
    options: BatchOptions,
    messages: InstanceType<typeof pb.BatchAppendReq.ProposedMessage>[],
    write: boolean,
  ): InstanceType<typeof pb.BatchAppendResp> {
    const identifier = options.getStreamIdentifier()!;
    const streamId = Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
    const response = new pb.BatchAppendResp().setCorrelationId(correlationId).setStreamIdentifier(identifier);
    if (!write) return response;
    if (this.faults.accessDenied.has('append'))
      return response.setError(status(7, 'Access denied', new shared.AccessDenied(), 'AccessDenied'));
    const expected: Expected = options.hasStreamPosition()
      ? { kind: 'revision', revision: BigInt(options.getStreamPosition()) }
      : options.hasNoStream()
        ? { kind: 'no_stream' }
        : options.hasStreamExists()
          ? { kind: 'stream_exists' }
          : { kind: 'any' };
    const outcome = this.log.append(
      streamId,
      expected,
      messages.map((m) => ({
        id: m.getId()!.getString(),
        type: m.getMetadataMap().get('type') ?? '',
        contentType: m.getMetadataMap().get('content-type') ?? 'application/octet-stream',
        data: m.getData_asU8(),
        metadata: m.getCustomMetadata_asU8(),
      })),
    );
    switch (outcome.kind) {
      case 'written':
      case 'idempotent': {
        const success = new pb.BatchAppendResp.Success().setCurrentRevision(outcome.revision.toString());
        if (outcome.kind === 'idempotent') success.setNoPosition(new Empty());
        else
          success.setPosition(
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
