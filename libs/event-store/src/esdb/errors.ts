/**
 * Maps what @eventstore/db-client throws onto the port's errors. Pure: no client, no I/O.
 * - WrongExpectedVersionError -> WrongExpectedRevisionError (the stream's actual revision, or 'no_stream')
 * - StreamDeletedError on an append -> the port's StreamDeletedError (reads turn it into no events themselves)
 * - AccessDeniedError -> EventStoreAccessDeniedError, naming what the service's user needs
 * - MaxAppendSizeExceededError -> AppendTooLargeError (the server's limit, 1 MiB by default)
 * - the server cannot be reached or cannot serve now -> EventStoreUnavailableError
 * - anything else is returned as it came, for the caller to rethrow
 */
import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError as ClientStreamDeletedError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
  convertToCommandError,
} from '@eventstore/db-client';
import {
  AppendTooLargeError,
  EventStoreAccessDeniedError,
  EventStoreUnavailableError,
  StreamDeletedError,
  WrongExpectedRevisionError,
  type ExpectedRevision,
} from '../port.js';

export interface EsdbErrorContext {
  /** What was being done, for the message: "append to contact-1", "read $all". */
  operation: string;
  /** For appends: the stream and the revision the caller expected. */
  streamId?: string;
  expectedRevision?: ExpectedRevision;
}

/** gRPC status codes (grpc/doc/statuscodes.md) that mean "the server did not serve this request". */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/** Socket-level failures Node reports before any gRPC status exists. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

/** Messages of failures that never reach a server: cluster discovery, a channel that never connected. */
const UNREACHABLE_MESSAGE =
  /Failed to discover after \d+ attempts|No connection established|connect ECONNREFUSED|UNAVAILABLE/i;

export function mapEsdbError(error: unknown, context: EsdbErrorContext): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof EventStoreUnavailableError || error instanceof WrongExpectedRevisionError) return error;
  // Raw gRPC errors (some client paths reject with them unconverted) become the client's own classes first.
  const converted = toCommandError(error);

  if (converted instanceof WrongExpectedVersionError) {
    return new WrongExpectedRevisionError(
      context.streamId ?? converted.streamName,
      context.expectedRevision ?? converted.expectedVersion,
      converted.actualVersion,
    );
  }
  if (
    converted instanceof ClientStreamDeletedError &&
    context.streamId !== undefined &&
    context.expectedRevision !== undefined
  ) {
    return new StreamDeletedError(context.streamId, context.expectedRevision);
  }
  if (converted instanceof MaxAppendSizeExceededError) {
    const max = Number.isFinite(converted.maxAppendSize) ? converted.maxAppendSize : undefined;
    return new AppendTooLargeError(context.streamId ?? context.operation, max, { cause: error });
  }
  if (converted instanceof AccessDeniedError) {
    const needs = /\$all|ping/.test(context.operation)
      ? 'read on $all (a member of $admins, or named in $r of the $all ACL, set in $$$all)'
      : context.streamId !== undefined
        ? `write on ${context.streamId}`
        : `read for ${context.operation}`;
    return new EventStoreAccessDeniedError(
      `EventStoreDB refused the service's user (${context.operation}): it needs ${needs}`,
      { cause: error },
    );
  }
  if (isUnreachable(converted)) {
    return new EventStoreUnavailableError(
      `EventStoreDB unavailable (${context.operation}): ${converted.message || converted.name}`,
      {
        cause: error,
      },
    );
  }
  return error;
}

/** convertToCommandError reads `details` of anything with a numeric `code`; a foreign error may lack it. */
function toCommandError(error: Error): Error {
  try {
    return convertToCommandError(error);
  } catch {
    return error;
  }
}

export function isUnreachable(error: Error, depth = 0): boolean {
  if (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof NotLeaderError ||
    // The server gave up waiting for the write to be acknowledged; a retry with the same event IDs is idempotent.
    error instanceof TimeoutError ||
    // The server cancelled the call (shutting down); the client only reconnects on the next call.
    error instanceof CancelledError
  ) {
    return true;
  }
  const code: unknown = (error as Error & { code?: unknown }).code;
  if (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED) return true;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  if (UNREACHABLE_MESSAGE.test(error.message)) return true;
  const cause: unknown = error.cause;
  return depth < 5 && cause instanceof Error && isUnreachable(toCommandError(cause), depth + 1);
}

/** Failures that prove the request never reached a server: no connection, no leader. Nothing was written. */
export function neverReachedServer(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const converted = toCommandError(error);
  if (converted instanceof NotLeaderError) return true;
  const code: unknown = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code) && code !== 'ECONNRESET' && code !== 'EPIPE')
    return true;
  return (
    NEVER_CONNECTED_MESSAGE.test(error.message) || (error.cause instanceof Error && neverReachedServer(error.cause))
  );
}

/** The request was refused before the server looked at it: no connection, or a node still starting. */
const NEVER_CONNECTED_MESSAGE =
  /Failed to discover after \d+ attempts|No connection established|connect ECONNREFUSED|getaddrinfo|Server Is Not Ready/i;

/** A node that does not lead answered (the client now reconnects to the leader it named): asking again is safe. */
export function isNotLeader(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error)) return false;
  if (toCommandError(error) instanceof NotLeaderError) return true;
  return depth < 5 && isNotLeader(error.cause, depth + 1);
}
