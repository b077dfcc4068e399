import { Command } from '@nestjs/cqrs';
import type { Branch } from '#contacts';
import type { TraceCarrier } from '../observability/tracing.js';

/** Which contacts a batch ends: the IDs given, or the active contacts of the caller's business unit that match. */
export type BatchSelection =
  | { kind: 'ids'; contactIds: string[] }
  | { kind: 'filter'; filter: { mediaType?: string; skill?: string; startedBefore?: string }; limit: number };

export type EndContactBatchRequest = {
  selection: BatchSelection;
  securityUser: string | undefined;
  /** The batch's command ID (Idempotency-Key): every end's correlationId. */
  batchId: string;
  /** Whether the caller chose the batch ID (a retry with it answers the same). */
  keyed: boolean;
  clientAddress: string;
  /** The caller's W3C trace context: every end of the batch continues it. */
  trace?: TraceCarrier;
};

/** One contact's answer: the branch and the HTTP status a single end of it would have had. */
export type BatchItemResult = {
  contactId: string;
  branch: Branch;
  status: number;
  error?: { code: string; message: string };
};

export type EndContactBatchResult = {
  /** The caller's standing: OnSuccess when it may end contacts, else the branch that refused it (whole batch). */
  caller: { branch: Branch; status: number; error?: { code: string; message: string } };
  results: BatchItemResult[];
  summary: Record<Branch, number>;
};

export class EndContactBatchCommand extends Command<EndContactBatchResult> {
  constructor(readonly request: EndContactBatchRequest) {
    super();
  }
}
