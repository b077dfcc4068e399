/**
 * EndContact, the whole path: authenticate the SecurityUser (directory as it is now), load the contact stream,
 * decide, append with the expected revision, and on a conflict re-read and decide again. Only the event store
 * is written; views and Kafka follow from it.
 */
import { Inject } from '@nestjs/common';
import type { Context } from '@opentelemetry/api';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  contactStreamId,
  decide,
  refuseCaller,
  foldContact,
  initialState,
  isWellFormedContactId,
  type ContactEventEnvelope,
  type ContactState,
  type EndContactDecision,
} from '#contacts';
import {
  AppendOutcomeUnknownError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
} from '#event-store';
import { retry } from '#runtime';
import { DirectoryService } from '../directory/directory.service.js';
import { asDomainEvents } from '../infrastructure/domain-events.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { EVENT_STORE, LOGGER } from '../infrastructure/tokens.js';
import { EndContactCommand, type EndContactResult } from './end-contact.command.js';
import { RefusalRecorder } from './refusal-recorder.js';
import { Metrics } from '../observability/metrics.js';
import { newEventId } from '../infrastructure/event-ids.js';
import { ActiveContacts } from './active-contacts.js';
import {
  SpanKind,
  carrierOf,
  childSpan,
  contextOf,
  inSpan,
  isTracingOn,
  logFieldsOf,
  type TraceCarrier,
} from '../observability/tracing.js';

const MAX_ATTEMPTS = 10;
const CONTACT_EVENTS = ['ContactStarted', 'ContactEnded'] as const;

@CommandHandler(EndContactCommand)
export class EndContactHandler implements ICommandHandler<EndContactCommand, EndContactResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: DirectoryService,
    private readonly refusals: RefusalRecorder,
    @Inject(LOGGER) private readonly logger: AppLogger,
    private readonly metrics: Metrics,
    private readonly active: ActiveContacts,
  ) {}

  async execute(command: EndContactCommand): Promise<EndContactResult> {
    const started = performance.now();
    const result = await this.traced(command.request);
    this.metrics.endContact(
      result.branch,
      command.request.source,
      (performance.now() - started) / 1000,
      result.branch === 'OnSuccess' && result.replayed,
    );
    return result;
  }

  /**
   * The command's span (docs/operations.md, "Pointing the service at a collector"): the child of the caller's
   * `traceparent`, or of the span in hand (a Kafka record's, a bulk end's: `trace.local`); the request's own server
   * span otherwise. Its trace context goes into the event's metadata, for the forwarder; its IDs into the log lines.
   * With tracing off, the caller's context is kept as it came.
   */
  private traced(request: EndContactCommand['request']): Promise<EndContactResult> {
    if (!isTracingOn()) return this.decideAndRecord(request, { carrier: request.trace, logFields: {} });
    return inSpan(
      'EndContact',
      {
        kind: request.trace?.local || request.source === 'kafka' ? SpanKind.INTERNAL : SpanKind.SERVER,
        parent: contextOf(request.trace),
        attributes: {
          'contact_orchestrator.source': request.source,
          'contact_orchestrator.contact_id': request.contactId,
          'contact_orchestrator.command_id': request.commandId,
        },
      },
      async (span, scope) => {
        const carrier = span ? carrierOf(span) : request.trace;
        const result = await this.decideAndRecord(request, { carrier, scope, logFields: logFieldsOf(span) });
        span?.setAttribute('contact_orchestrator.branch', result.branch);
        return result;
      },
    );
  }

  private async decideAndRecord(request: EndContactCommand['request'], traced: Traced): Promise<EndContactResult> {
    const { contactId, commandId } = request;
    const { carrier: traceContext, scope, logFields } = traced;
    // Set once an append's outcome is unknown: a later failure cannot then say that nothing was written.
    let outcomeUnknown = false;
    try {
      const caller =
        request.securityUser === undefined && request.securityUserProblem !== undefined
          ? ({ kind: 'Unauthenticated', detail: `SecurityUser ${request.securityUserProblem}` } as const)
          : await childSpan('EndContact authenticate', scope, () => this.directory.authenticate(request.securityUser));
      const metadata: EventMetadata = {
        commandId,
        correlationId: request.correlationId,
        causationId: commandId,
        source: request.source,
        schemaVersion: 1,
        ...(traceContext?.traceparent ? { traceparent: traceContext.traceparent } : {}),
        ...(traceContext?.tracestate ? { tracestate: traceContext.tracestate } : {}),
      };
      // A caller refused for who it is is refused for any contact: its stream is not read.
      const refused = refuseCaller({ type: 'EndContact', data: { contactId, caller, commandId, now: new Date() } });
      if (refused) return await this.carryOut(refused, [], undefined, metadata, request.clientAddress, scope);
      return await retry(
        async (attempt) => {
          const { state, stream, revision } = await this.contact(contactId, attempt, scope);
          const decision = decide(
            { type: 'EndContact', data: { contactId, caller, commandId, now: new Date() } },
            state,
          );
          return this.carryOut(decision, stream, revision, metadata, request.clientAddress, scope);
        },
        {
          attempts: MAX_ATTEMPTS,
          // A race on this contact's stream is decided again, and so is an end whose outcome is unknown: the stream
          // then shows it (this commandId's ContactEnded is replayed) or not (the exact revision keeps it single).
          retryOn: (error) => {
            const retried =
              (error instanceof WrongExpectedRevisionError || error instanceof AppendOutcomeUnknownError) &&
              error.streamId === contactStreamId(contactId);
            if (retried) this.active.forget(contactId);
            if (error instanceof AppendOutcomeUnknownError) outcomeUnknown = true;
            return retried;
          },
          onRetry: (_error, attempt) =>
            this.logger.debug({ ...logFields, contactId, attempt }, 'concurrent write on contact, deciding again'),
        },
      );
    } catch (error) {
      if (error instanceof EventStoreUnavailableError || error instanceof WrongExpectedRevisionError) {
        this.logger.error({ ...logFields, err: error, contactId, commandId }, 'EndContact failed on the event store');
        // 503 says nothing was written, unless an append's outcome is unknown: then it says so (docs/design.md).
        const unknown = outcomeUnknown || error instanceof AppendOutcomeUnknownError;
        return {
          branch: 'Default',
          contactId,
          detail: unknown
            ? `Event store unavailable; the outcome of this end is unknown (it may have been recorded): retry with the same Idempotency-Key, or read the contact. ${error.message}`
            : `Event store unavailable: ${error.message}`,
        };
      }
      throw error;
    }
  }

  /**
   * The contact to decide on, its stream as read (empty when not read) and that stream's last revision. A contact this
   * process started is taken from ActiveContacts on the first attempt, without a read: the append's revision checks
   * it, and a retry reads the stream.
   */
  private async contact(
    contactId: string,
    attempt: number,
    scope: Context | undefined,
  ): Promise<{ state: ContactState; stream: RecordedEvent[]; revision: bigint | undefined }> {
    if (!isWellFormedContactId(contactId)) return { state: initialState(), stream: [], revision: undefined };
    const known = attempt === 1 ? this.active.recall(contactId) : undefined;
    // The span says where the contact came from: the store, or the contacts this process started (no read).
    if (known) {
      if (scope) await childSpan('EndContact read stream', scope, noop, { 'contact_orchestrator.read_from': 'memory' });
      return { state: known.state, stream: [], revision: known.revision };
    }
    const stream = await childSpan(
      'EndContact read stream',
      scope,
      () => this.store.readStream(contactStreamId(contactId)),
      { 'contact_orchestrator.read_from': 'store', 'contact_orchestrator.attempt': attempt },
    );
    return {
      state: foldContact(asDomainEvents<ContactEventEnvelope>(stream, CONTACT_EVENTS)),
      stream,
      revision: stream[stream.length - 1]?.revision,
    };
  }

  private recordRefusal(
    scope: Context | undefined,
    ...args: Parameters<RefusalRecorder['record']>
  ): ReturnType<RefusalRecorder['record']> {
    return childSpan('EndContact record refusal', scope, () => this.refusals.record(...args));
  }

  /** `revision`: the contact stream's last revision as decided from (undefined: no stream). */
  private async carryOut(
    decision: EndContactDecision,
    stream: RecordedEvent[],
    revision: bigint | undefined,
    metadata: EventMetadata,
    clientAddress: string,
    scope: Context | undefined,
  ): Promise<EndContactResult> {
    switch (decision.branch) {
      case 'OnSuccess': {
        if (decision.replayed) {
          const ended = stream.find((e) => e.type === 'ContactEnded')!;
          return {
            branch: 'OnSuccess',
            contactId: decision.contactId,
            endedAt: decision.endedAt,
            position: ended.position.toString(),
            replayed: true,
          };
        }
        const { position } = await childSpan('EndContact append', scope, () =>
          this.store.append(
            contactStreamId(decision.contactId),
            // A fresh ID: a concurrent twin of this command must lose on the revision check and replay the winner's
            // answer, not be deduplicated into a success that reports its own endedAt.
            [{ id: newEventId(), ...decision.event, metadata }],
            { expectedRevision: revision! },
          ),
        );
        this.active.forget(decision.contactId);
        return {
          branch: 'OnSuccess',
          contactId: decision.contactId,
          endedAt: decision.endedAt,
          position: position.toString(),
          replayed: false,
        };
      }
      case 'OnInvalidSecurityUser':
      case 'OnUnauthorized': {
        const position = await this.recordRefusal(scope, decision.event, metadata, clientAddress);
        return {
          branch: decision.branch,
          contactId: decision.event.data.contactId,
          detail: decision.detail,
          ...positionOf(position),
        };
      }
      case 'OnInvalidContactID': {
        const position = await this.recordRefusal(scope, decision.event, metadata, clientAddress);
        return {
          branch: decision.branch,
          contactId: decision.event.data.contactId,
          cause: decision.cause,
          detail: decision.detail,
          ...positionOf(position),
        };
      }
      default:
        return exhaustive(decision);
    }
  }
}

const noop = async (): Promise<void> => undefined;

/** What a command's steps need of its trace: the context to store, the span to parent theirs, its IDs for logs. */
type Traced = { carrier: TraceCarrier | undefined; scope?: Context | undefined; logFields: Record<string, string> };

const positionOf = (position: bigint | undefined): { position?: string } =>
  position === undefined ? {} : { position: position.toString() };

function exhaustive(value: never): never {
  throw new Error(`Unhandled decision ${JSON.stringify(value)}`);
}
