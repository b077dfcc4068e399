import { Command } from '@nestjs/cqrs';
import type { MediaType } from '#contacts';
import type { EventMetadata } from '#event-store';

export type StartContactResult =
  | {
      result: 'Started';
      contactId: string;
      businessUnitId: string;
      mediaType: MediaType;
      skill?: string;
      state: 'Active';
      startedAt: string;
      position: string;
    }
  | { result: 'AlreadyExists'; contactId: string; detail: string };

export class StartContactCommand extends Command<StartContactResult> {
  constructor(
    readonly request: {
      contactId?: string;
      businessUnitId: string;
      mediaType: MediaType;
      skill?: string;
      metadata: EventMetadata;
      /** The caller's Idempotency-Key, when it sent one. */
      idempotencyKey?: string;
    },
  ) {
    super();
  }
}
