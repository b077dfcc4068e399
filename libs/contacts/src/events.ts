import type { MediaType } from './media-type.js';

/** Events of a contact stream `contact-{contactId}` and of the refusal audit streams (docs/design.md, Events). */
export type ContactStarted = {
  type: 'ContactStarted';
  data: { contactId: string; businessUnitId: string; mediaType: MediaType; skill?: string; startedAt: string };
};

export type ContactEnded = {
  type: 'ContactEnded';
  data: {
    contactId: string;
    businessUnitId: string;
    mediaType: MediaType;
    endedBy: string;
    disconnectReason: 'TerminateScript';
    endedAt: string;
  };
};

export type RejectionReason = 'InvalidSecurityUser' | 'Unauthorized' | 'InvalidContactID';

export type EndContactRejected = {
  type: 'EndContactRejected';
  data: {
    /** As given by the caller: may be malformed. */
    contactId: string;
    reason: RejectionReason;
    detail: string;
    agentId?: string;
    businessUnitId?: string;
    rejectedAt: string;
  };
};

/**
 * Written instead of further EndContactRejected events once a caller passed its quota: an unauthenticated client
 * (per client address; `*` for the shared overflow budget) or an agent (per agent). `count` refusals for `reason`
 * between windowStart and windowEnd were not recorded one by one; summaries of one caller add up.
 */
export type EndContactRejectionsSuppressed = {
  type: 'EndContactRejectionsSuppressed';
  data: {
    clientAddress?: string;
    agentId?: string;
    businessUnitId?: string;
    count: number;
    windowStart: string;
    windowEnd: string;
    reason: RejectionReason;
  };
};

export type ContactEvent = ContactStarted | ContactEnded;
export type AuditEvent = EndContactRejected | EndContactRejectionsSuppressed;

export const contactStreamId = (contactId: string): string => `contact-${contactId}`;
/** One audit stream per UTC day; a refusal never creates a contact stream. */
export const rejectionStreamId = (at: Date): string => `end-contact-rejections-${at.toISOString().slice(0, 10)}`;
export const DISCONNECT_REASON = 'TerminateScript' as const;
