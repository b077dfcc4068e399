/**
 * The contact decider, shaped as Emmett's: `decider = { initialState, evolve, decide }`, where `decide` takes any
 * ContactCommand (StartContact, EndContact). Pure: no clock (the command carries `now`), no I/O, and every outcome
 * is a decision value (an event to append, or a refusal with the event that records it), never a throw.
 * The order of the End a Contact checks is the seed's: security user, permission, contact ID (docs/design.md, End a Contact).
 */
import { authorize, CONTACTS_END, type AccessRefusal, type AgentCaller, type Caller } from '#security';
import {
  DISCONNECT_REASON,
  type ContactEnded,
  type ContactEvent,
  type ContactStarted,
  type EndContactRejected,
  type RejectionReason,
} from './events.js';
import { isWellFormedContactId, type MediaType } from './media-type.js';

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

function decideStartContact(command: StartContact, state: ContactState): StartContactDecision {
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

/** The refusals that depend on the caller alone, as decided for one EndContact (with the event that records it). */
export type CallerRefusal = Extract<EndContactDecision, { branch: 'OnInvalidSecurityUser' | 'OnUnauthorized' }>;

/** A caller that may not end contacts at all: the security directory's refusal and the branch End a Contact answers. */
export type EndContactsRefusal = AccessRefusal & { branch: CallerRefusal['branch'] };
export type EndContactsPermission =
  { allowed: true; agent: AgentCaller } | { allowed: false; refusal: EndContactsRefusal };

const BRANCH_OF_REFUSAL: Record<AccessRefusal['reason'], CallerRefusal['branch']> = {
  InvalidSecurityUser: 'OnInvalidSecurityUser',
  Unauthorized: 'OnUnauthorized',
};

/**
 * The first two checks of End a Contact (security user, then permission): the agent when it may end contacts, else
 * its refusal. They need no contact, so a caller refused here is refused for every contact alike: the bulk end
 * answers a whole batch from this, reading none of its contacts.
 */
export function mayEndContacts(caller: Caller): EndContactsPermission {
  const authorization = authorize(caller, CONTACTS_END);
  if (authorization.allowed) return authorization;
  const { refusal } = authorization;
  return { allowed: false, refusal: { ...refusal, branch: BRANCH_OF_REFUSAL[refusal.reason] } };
}

/**
 * `mayEndContacts` for one EndContact command, as `decide` answers it: the caller's refusal, or undefined when it may
 * end contacts. A single end asks this before it reads the contact's stream.
 */
export function refuseCaller(command: EndContact): CallerRefusal | undefined {
  const permission = mayEndContacts(command.data.caller);
  return permission.allowed ? undefined : callerRefusal(command, permission.refusal);
}

function callerRefusal(command: EndContact, refusal: EndContactsRefusal): CallerRefusal {
  const { branch, reason, detail } = refusal;
  return { branch, detail, event: rejection(command, refusal, reason, detail) };
}

/** The EndContactRejected that records a refusal of `command`, naming the agent `who` names. */
function rejection(
  command: EndContact,
  who: { agentId?: string; businessUnitId?: string },
  reason: RejectionReason,
  detail: string,
): EndContactRejected {
  const { contactId, now } = command.data;
  return {
    type: 'EndContactRejected',
    data: {
      contactId,
      reason,
      detail,
      ...(who.agentId !== undefined ? { agentId: who.agentId } : {}),
      ...(who.businessUnitId !== undefined ? { businessUnitId: who.businessUnitId } : {}),
      rejectedAt: now.toISOString(),
    },
  };
}

function decideEndContact(command: EndContact, state: ContactState): EndContactDecision {
  const permission = mayEndContacts(command.data.caller);
  if (!permission.allowed) return callerRefusal(command, permission.refusal);
  const { agent } = permission;
  const { contactId, commandId, now } = command.data;
  const reject = (detail: string): EndContactRejected => rejection(command, agent, 'InvalidContactID', detail);

  if (!isWellFormedContactId(contactId)) {
    const detail = 'ContactID must be a decimal string of 1 to 19 digits';
    return { branch: 'OnInvalidContactID', cause: 'Malformed', detail, event: reject(detail) };
  }
  // Another business unit's contact is reported exactly like an unknown one: never reveal it exists.
  if (state.status === 'None' || state.businessUnitId !== agent.businessUnitId) {
    const detail = `Contact ${contactId} not found`;
    return { branch: 'OnInvalidContactID', cause: 'NotFound', detail, event: reject(detail) };
  }
  if (state.status === 'Ended') {
    if (state.endedByCommandId === commandId) {
      return { branch: 'OnSuccess', contactId, endedAt: state.endedAt, replayed: true };
    }
    const detail = `Contact ${contactId} is not active (ended at ${state.endedAt})`;
    return { branch: 'OnInvalidContactID', cause: 'NotActive', detail, event: reject(detail) };
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
        endedBy: agent.agentId,
        disconnectReason: DISCONNECT_REASON,
        endedAt,
      },
    },
  };
}

// ---------------------------------------------------------------- The decider

export type ContactCommand = StartContact | EndContact;
export type ContactDecision = StartContactDecision | EndContactDecision;

/** The decision on `command` given the contact's state; each command type gets its own decision type. */
export function decide(command: StartContact, state: ContactState): StartContactDecision;
export function decide(command: EndContact, state: ContactState): EndContactDecision;
export function decide(command: ContactCommand, state: ContactState): ContactDecision;
export function decide(command: ContactCommand, state: ContactState): ContactDecision {
  switch (command.type) {
    case 'StartContact':
      return decideStartContact(command, state);
    case 'EndContact':
      return decideEndContact(command, state);
    default:
      return exhaustive(command);
  }
}

/** Emmett's Decider shape; `decide` answers a decision (refusals included) rather than only events. */
export const decider = { initialState, evolve, decide } as const;

function exhaustive(value: never): never {
  throw new Error(`Unhandled ${JSON.stringify(value)}`);
}
