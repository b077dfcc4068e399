import { randomUUID } from 'node:crypto';
import type { EventMetadata } from '#event-store';
import { ConflictException } from '@nestjs/common';
import type { RequestLike } from './auth.js';

/** The command ID from `Idempotency-Key` or the body (they must agree), else a new one. Both were validated by the route's schemas. */
export function commandIdOf(request: RequestLike, bodyCommandId: string | undefined): string {
  const header = request.headers['idempotency-key'];
  const fromHeader = typeof header === 'string' ? header : undefined;
  if (fromHeader !== undefined && bodyCommandId !== undefined && fromHeader !== bodyCommandId) {
    throw new CommandIdConflictError();
  }
  return fromHeader ?? bodyCommandId ?? randomUUID();
}

/**
 * `Idempotency-Key` and the body's `commandId` name two different commands: each part is valid alone (the document
 * cannot say "equal across parts"), so it is a conflict, 409, not a malformed request.
 */
export class CommandIdConflictError extends ConflictException {
  constructor() {
    super({
      statusCode: 409,
      error: 'Conflict',
      field: 'commandId',
      message: 'commandId differs from the Idempotency-Key header: send one, or the same in both',
    });
  }
}

/** X-Correlation-Id when usable; the service then takes it as the request ID. */
export function correlationHeaderOf(headers: RequestLike['headers']): string | undefined {
  const header = headers['x-correlation-id'];
  return typeof header === 'string' && header.length > 0 && header.length <= 128 ? header : undefined;
}

/** The request ID (X-Correlation-Id or a new one, see bootstrap) is the correlation ID of the command it carries. */
export function correlationIdOf(request: RequestLike & { id?: string }, commandId: string): string {
  return correlationHeaderOf(request.headers) ?? request.id ?? commandId;
}

export function metadataFor(request: RequestLike, commandId: string, source: EventMetadata['source']): EventMetadata {
  return {
    commandId,
    correlationId: correlationIdOf(request, commandId),
    causationId: commandId,
    source,
    schemaVersion: 1,
  };
}

export const clientAddressOf = (request: RequestLike): string => request.ip ?? 'unknown';
