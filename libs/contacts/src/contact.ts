/**
 * The contact decider: initialState, evolve, decide. Pure: no clock (the command carries `now`), no I/O.
 * The order of the End a Contact checks is the seed's: security user, permission, contact ID (docs/design.md, End a Contact).
 */
import {
  DISCONNECT_REASON,
  type ContactEnded,
  type ContactEvent,
  type ContactStarted,
  type EndContactRejected,
  type RejectionReason,
} from './events.js';
import { isWellFormedContactId, type MediaType } from './media-type.js';

export const CONTACTS_END = 'Contacts.End';
export const CONTACTS_VIEW = 'Contacts.View';

/** Who is calling, as established by authenticating the SecurityUser against the directory as it is now. */
export type Caller =
  | { kind: 'Unauthenticated'; detail: string; agentId?: string; businessUnitId?: string }
  | { kind: 'Agent'; agentId: string; businessUnitId: string; permissions: readonly string[] };

type ContactFacts = {
  contactId: string;
  businessUnitId: string;
  mediaType: MediaType;
  skill?: string;
  startedAt: string;
};

export type ContactState =
  | { status: 'None' }
  | ({ status: 'Active' } & ContactFacts)
  | ({ status: 'Ended'; endedAt: string; endedBy: string; endedByCommandId?: string } & ContactFacts);

/** An event as the decider sees it when folding a stream: the commandId that wrote it, if any. */
export type ContactEventEnvelope = ContactEvent & { commandId?: string };

export const initialState = (): ContactState => ({ status: 'None' });

export function evolve(state: ContactState, event: ContactEventEnvelope): ContactState {
  switch (event.type) {
    case 'ContactStarted': {
      const { contactId, businessUnitId, mediaType, skill, startedAt } = event.data;
      return {
        status: 'Active',
        contactId,
        businessUnitId,
        mediaType,
        startedAt,
        ...(skill !== undefined ? { skill } : {}),
      };
    }
    case 'ContactEnded': {
      if (state.status === 'None') return state;
      const { status: _ignored, ...facts } = state;
      return {
        ...facts,
        status: 'Ended',
        endedAt: event.data.endedAt,
        endedBy: event.data.endedBy,
        ...(event.commandId !== undefined ? { endedByCommandId: event.commandId } : {}),
      };
    }
    default:
      return exhaustive(event);
  }
}

export const foldContact = (events: readonly ContactEventEnvelope[]): ContactState =>
  events.reduce(evolve, initialState());

// ---------------------------------------------------------------- StartContact

export type StartContact = {
  type: 'StartContact';
  data: { contactId: string; businessUnitId: string; mediaType: MediaType; skill?: string; now: Date };
};

export type StartContactDecision =
  { result: 'Started'; event: ContactStarted } | { result: 'AlreadyExists'; detail: string };

export function decideStartContact(command: StartContact, state: ContactState): StartContactDecision {
  const { contactId, businessUnitId, mediaType, skill, now } = command.data;
  if (state.status !== 'None') return { result: 'AlreadyExists', detail: `Contact ${contactId} already exists` };
  return {
    result: 'Started',
    event: {
      type: 'ContactStarted',
      data: {
        contactId,
        businessUnitId,
        mediaType,
        ...(skill !== undefined ? { skill } : {}),
        startedAt: now.toISOString(),
      },
    },
  };
}

// ---------------------------------------------------------------- EndContact

export type EndContact = {
  type: 'EndContact';
  data: { contactId: string; caller: Caller; commandId: string; now: Date };
};

/** Why a contact ID was refused; the HTTP layer answers 400, 404 and 409 for these. */
export type InvalidContactIdCause = 'Malformed' | 'NotFound' | 'NotActive';

/** Every outcome the seed names, as a value. `Default` is added by the application for infrastructure failures. */
export type EndContactDecision =
  | { branch: 'OnSuccess'; contactId: string; endedAt: string; replayed: false; event: ContactEnded }
  | { branch: 'OnSuccess'; contactId: string; endedAt: string; replayed: true }
  | { branch: 'OnInvalidSecurityUser'; detail: string; event: EndContactRejected }
  | { branch: 'OnUnauthorized'; detail: string; event: EndContactRejected }
  | { branch: 'OnInvalidContactID'; cause: InvalidContactIdCause; detail: string; event: EndContactRejected };

export type Branch = EndContactDecision['branch'] | 'Default';
export const BRANCHES: readonly Branch[] = [
  'OnSuccess',
  'OnInvalidSecurityUser',
  'OnUnauthorized',
  'OnInvalidContactID',
  'Default',
];

/** The refusals that depend on the caller alone, before any contact is looked at. */
export type CallerRefusal = Extract<EndContactDecision, { branch: 'OnInvalidSecurityUser' | 'OnUnauthorized' }>;

/**
 * The first two checks of End a Contact (security user, then permission): the caller's refusal, or undefined when
 * it may end contacts. They need no contact state, so a caller refused here is refused for every contact alike
 * (the bulk end answers a whole batch from it, reading none of its contacts).
 */
export function refuseCaller(command: EndContact): CallerRefusal | undefined {
  const { caller } = command.data;
  if (caller.kind === 'Unauthenticated') {
    return {
      branch: 'OnInvalidSecurityUser',
      detail: caller.detail,
      event: rejection(command, 'InvalidSecurityUser', caller.detail),
    };
  }
  if (!caller.permissions.includes(CONTACTS_END)) {
    const detail = `Agent ${caller.agentId} lacks permission ${CONTACTS_END}`;
    return { branch: 'OnUnauthorized', detail, event: rejection(command, 'Unauthorized', detail) };
  }
  return undefined;
}

function rejection(command: EndContact, reason: RejectionReason, detail: string): EndContactRejected {
  const { contactId, caller, now } = command.data;
  return {
    type: 'EndContactRejected',
    data: {
      contactId,
      reason,
      detail,
      ...(caller.agentId !== undefined ? { agentId: caller.agentId } : {}),
      ...(caller.businessUnitId !== undefined ? { businessUnitId: caller.businessUnitId } : {}),
      rejectedAt: now.toISOString(),
    },
  };
}

export function decideEndContact(command: EndContact, state: ContactState): EndContactDecision {
  const refused = refuseCaller(command);
  if (refused) return refused;
  const { contactId, caller, commandId, now } = command.data;
  if (caller.kind !== 'Agent') throw new Error('refuseCaller lets only an agent through');
  const reject = (reason: RejectionReason, detail: string): EndContactRejected => rejection(command, reason, detail);

  if (!isWellFormedContactId(contactId)) {
    const detail = 'ContactID must be a decimal string of 1 to 19 digits';
    return { branch: 'OnInvalidContactID', cause: 'Malformed', detail, event: reject('InvalidContactID', detail) };
  }
  // Another business unit's contact is reported exactly like an unknown one: never reveal it exists.
  if (state.status === 'None' || state.businessUnitId !== caller.businessUnitId) {
    const detail = `Contact ${contactId} not found`;
    return { branch: 'OnInvalidContactID', cause: 'NotFound', detail, event: reject('InvalidContactID', detail) };
  }
  if (state.status === 'Ended') {
    if (state.endedByCommandId === commandId) {
      return { branch: 'OnSuccess', contactId, endedAt: state.endedAt, replayed: true };
    }
    const detail = `Contact ${contactId} is not active (ended at ${state.endedAt})`;
    return { branch: 'OnInvalidContactID', cause: 'NotActive', detail, event: reject('InvalidContactID', detail) };
  }
  const endedAt = now.toISOString();
  return {
    branch: 'OnSuccess',
    contactId,
    endedAt,
    replayed: false,
    event: {
      type: 'ContactEnded',
      data: {
        contactId,
        businessUnitId: state.businessUnitId,
        mediaType: state.mediaType,
        endedBy: caller.agentId,
        disconnectReason: DISCONNECT_REASON,
        endedAt,
      },
    },
  };
}

function exhaustive(value: never): never {
  throw new Error(`Unhandled event ${JSON.stringify(value)}`);
}
