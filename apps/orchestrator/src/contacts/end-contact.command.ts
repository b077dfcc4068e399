import { Command } from '@nestjs/cqrs';
import type { InvalidContactIdCause } from '#contacts';
import type { EventMetadata } from '#event-store';
import type { TraceCarrier } from '../observability/tracing.js';

/**
 * The answer to an EndContact command, whatever carried it (REST, Studio action, Kafka). `position` is where the
 * outcome was recorded (absent when an anonymous refusal was only counted).
 */
export type EndContactResult =
  | { branch: 'OnSuccess'; contactId: string; endedAt: string; position: string; replayed: boolean }
  | { branch: 'OnInvalidSecurityUser'; contactId: string; detail: string; position?: string }
  | { branch: 'OnUnauthorized'; contactId: string; detail: string; position?: string }
  | { branch: 'OnInvalidContactID'; contactId: string; cause: InvalidContactIdCause; detail: string; position?: string }
  | { branch: 'Default'; contactId: string; detail: string };

export type EndContactRequest = {
  contactId: string;
  securityUser: string | undefined;
  /** Why there is no SecurityUser, when the caller knows better than "missing" (e.g. an undefined {variable}). */
  securityUserProblem?: string;
  commandId: string;
  correlationId: string;
  source: EventMetadata['source'];
  /** Bounds the audit of unauthenticated refusals per client. */
  clientAddress: string;
  /** The caller's W3C trace context (`traceparent` header), when it sent one: the command's span continues it. */
  trace?: TraceCarrier;
};

export class EndContactCommand extends Command<EndContactResult> {
  constructor(readonly request: EndContactRequest) {
    super();
  }
}
