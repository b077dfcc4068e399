import { describe, expect, it } from 'vitest';
import { CONTACTS_END, CONTACTS_VIEW, type Caller } from '#security';
import {
  decide,
  decider,
  evolve,
  foldContact,
  initialState,
  mayEndContacts,
  refuseCaller,
  type ContactCommand,
  type ContactEventEnvelope,
  type EndContact,
  type EndContactDecision,
  type InvalidContactIdCause,
  type StartContact,
} from './contact.js';
import { MEDIA_TYPES, type MediaType } from './media-type.js';
import { contactSpec, endContactSpec, startContactSpec } from './testing/decider-specification.js';

const CONTACT_ID = '4000123456789';
const BU = 'bu-100';
const OTHER_BU = 'bu-200';
const AGENT = 'agent-7';
const startedAt = '2025-03-01T09:00:00.000Z';
const firstEndAt = '2025-03-01T09:05:00.000Z';
const now = new Date('2025-03-01T10:00:00.000Z');

const ender: Caller = { kind: 'Agent', agentId: AGENT, businessUnitId: BU, permissions: [CONTACTS_VIEW, CONTACTS_END] };
const viewer: Caller = { kind: 'Agent', agentId: 'agent-8', businessUnitId: BU, permissions: [CONTACTS_VIEW] };
const unauthenticated: Caller = { kind: 'Unauthenticated', detail: 'SecurityUser has expired' };

const started = (mediaType: MediaType, businessUnitId = BU, contactId = CONTACT_ID): ContactEventEnvelope => ({
  type: 'ContactStarted',
  data: { contactId, businessUnitId, mediaType, startedAt },
});
const ended = (mediaType: MediaType, commandId: string): ContactEventEnvelope => ({
  type: 'ContactEnded',
  data: {
    contactId: CONTACT_ID,
    businessUnitId: BU,
    mediaType,
    endedBy: 'agent-1',
    disconnectReason: 'TerminateScript',
    endedAt: firstEndAt,
  },
  commandId,
});
const endContact = (caller: Caller, contactId = CONTACT_ID, commandId = 'cmd-2'): EndContact => ({
  type: 'EndContact',
  data: { contactId, caller, commandId, now },
});
/** The refusal of `ender`'s end of `contactId` for `cause`, with the EndContactRejected it records. */
const invalidContactId = (
  cause: InvalidContactIdCause,
  detail: string,
  contactId = CONTACT_ID,
): EndContactDecision => ({
  branch: 'OnInvalidContactID',
  cause,
  detail,
  event: {
    type: 'EndContactRejected',
    data: {
      contactId,
      reason: 'InvalidContactID',
      detail,
      agentId: AGENT,
      businessUnitId: BU,
      rejectedAt: now.toISOString(),
    },
  },
});

describe.each(MEDIA_TYPES)('EndContact on a %s contact', (mediaType) => {
  it('OnSuccess: an active contact of the caller business unit is ended with TerminateScript', () => {
    endContactSpec
      .given([started(mediaType)])
      .when(endContact(ender))
      .then({
        branch: 'OnSuccess',
        contactId: CONTACT_ID,
        endedAt: now.toISOString(),
        replayed: false,
        event: {
          type: 'ContactEnded',
          data: {
            contactId: CONTACT_ID,
            businessUnitId: BU,
            mediaType,
            endedBy: AGENT,
            disconnectReason: 'TerminateScript',
            endedAt: '2025-03-01T10:00:00.000Z',
          },
        },
      });
  });

  it('OnInvalidSecurityUser: an unauthenticated caller is refused with its detail', () => {
    endContactSpec
      .given([started(mediaType)])
      .when(endContact(unauthenticated))
      .then({
        branch: 'OnInvalidSecurityUser',
        detail: 'SecurityUser has expired',
        event: {
          type: 'EndContactRejected',
          data: {
            contactId: CONTACT_ID,
            reason: 'InvalidSecurityUser',
            detail: 'SecurityUser has expired',
            rejectedAt: now.toISOString(),
          },
        },
      });
  });

  it('OnInvalidSecurityUser: the refusal carries the contact ID as given, even malformed, and the agent when known', () => {
    const inactive: Caller = {
      kind: 'Unauthenticated',
      detail: `Agent ${AGENT} is inactive`,
      agentId: AGENT,
      businessUnitId: BU,
    };
    endContactSpec
      .given([started(mediaType)])
      .when(endContact(inactive, 'not-an-id'))
      .then({
        branch: 'OnInvalidSecurityUser',
        detail: `Agent ${AGENT} is inactive`,
        event: {
          type: 'EndContactRejected',
          data: {
            contactId: 'not-an-id',
            reason: 'InvalidSecurityUser',
            detail: `Agent ${AGENT} is inactive`,
            agentId: AGENT,
            businessUnitId: BU,
            rejectedAt: now.toISOString(),
          },
        },
      });
  });

  it('OnUnauthorized: an agent whose profile lacks Contacts.End (only Contacts.View) is refused', () => {
    const detail = `Agent agent-8 lacks permission ${CONTACTS_END}`;
    endContactSpec
      .given([started(mediaType)])
      .when(endContact(viewer))
      .then({
        branch: 'OnUnauthorized',
        detail,
        event: {
          type: 'EndContactRejected',
          data: {
            contactId: CONTACT_ID,
            reason: 'Unauthorized',
            detail,
            agentId: 'agent-8',
            businessUnitId: BU,
            rejectedAt: now.toISOString(),
          },
        },
      });
  });

  it('OnUnauthorized: an agent with no permissions at all (no security profile) is refused', () => {
    const noProfile: Caller = { kind: 'Agent', agentId: AGENT, businessUnitId: BU, permissions: [] };
    endContactSpec
      .given([started(mediaType)])
      .when(endContact(noProfile))
      .then((decision) => expect(decision.branch).toBe('OnUnauthorized'));
  });

  it.each(['', 'abc', '12a', '12345678901234567890', ' 123', '123 ', '-1', '1.5', '１２３'])(
    'OnInvalidContactID Malformed: %j',
    (badId) => {
      endContactSpec
        .given([started(mediaType)])
        .when(endContact(ender, badId))
        .then(invalidContactId('Malformed', 'ContactID must be a decimal string of 1 to 19 digits', badId));
    },
  );

  it('OnInvalidContactID NotFound: no stream for the contact', () => {
    endContactSpec
      .given([])
      .when(endContact(ender))
      .then(invalidContactId('NotFound', `Contact ${CONTACT_ID} not found`));
  });

  it("OnInvalidContactID NotFound: another business unit's contact is refused exactly like an unknown one", () => {
    const unknown = endContactSpec
      .given([])
      .when(endContact(ender))
      .then(() => {});
    const elsewhere = endContactSpec
      .given([started(mediaType, OTHER_BU)])
      .when(endContact(ender))
      .then((decision) => expect(decision).toMatchObject({ branch: 'OnInvalidContactID', cause: 'NotFound' }));
    // Identical answer and audit record: nothing tells the caller the contact exists elsewhere.
    expect(elsewhere).toStrictEqual(unknown);
    expect(JSON.stringify(elsewhere)).not.toContain(OTHER_BU);
  });

  it("OnInvalidContactID NotFound: another business unit's ended contact does not reveal it either, even on replay", () => {
    const otherBuEnded: ContactEventEnvelope = {
      type: 'ContactEnded',
      data: {
        contactId: CONTACT_ID,
        businessUnitId: OTHER_BU,
        mediaType,
        endedBy: 'agent-x',
        disconnectReason: 'TerminateScript',
        endedAt: firstEndAt,
      },
      commandId: 'cmd-2',
    };
    endContactSpec
      .given([started(mediaType, OTHER_BU), otherBuEnded])
      .when(endContact(ender, CONTACT_ID, 'cmd-2'))
      .then((decision) =>
        expect(decision).toMatchObject({
          branch: 'OnInvalidContactID',
          cause: 'NotFound',
          detail: `Contact ${CONTACT_ID} not found`,
        }),
      );
  });

  it('OnInvalidContactID NotActive: the contact was already ended by another command', () => {
    endContactSpec
      .given([started(mediaType), ended(mediaType, 'cmd-1')])
      .when(endContact(ender, CONTACT_ID, 'cmd-2'))
      .then(invalidContactId('NotActive', `Contact ${CONTACT_ID} is not active (ended at ${firstEndAt})`));
  });

  it('OnInvalidContactID NotActive: an ended contact whose ending carried no commandId is never a replay', () => {
    const { commandId: _none, ...withoutCommandId } = ended(mediaType, 'unused');
    endContactSpec
      .given([started(mediaType), withoutCommandId])
      .when(endContact(ender, CONTACT_ID, 'cmd-2'))
      .then((decision) => expect(decision).toMatchObject({ branch: 'OnInvalidContactID', cause: 'NotActive' }));
  });

  it('idempotent replay: the same commandId gets the original OnSuccess back and no event', () => {
    endContactSpec
      .given([started(mediaType), ended(mediaType, 'cmd-1')])
      .when(endContact(ender, CONTACT_ID, 'cmd-1'))
      .then({ branch: 'OnSuccess', contactId: CONTACT_ID, endedAt: firstEndAt, replayed: true });
  });
});

describe('EndContact: the order of the checks is security user, permission, contact ID', () => {
  const endedContact = [started('Phone'), ended('Phone', 'cmd-1')];

  it('an unauthenticated caller with a malformed ID on an ended contact gets OnInvalidSecurityUser', () => {
    endContactSpec
      .given(endedContact)
      .when(endContact(unauthenticated, '12a', 'cmd-1'))
      .then((decision) => {
        expect(decision.branch).toBe('OnInvalidSecurityUser');
        expect(decision).toHaveProperty('event.data.reason', 'InvalidSecurityUser');
        expect(decision).toHaveProperty('event.data.contactId', '12a');
      });
  });

  it('an unauthorized agent with a malformed ID gets OnUnauthorized', () => {
    endContactSpec
      .given(endedContact)
      .when(endContact(viewer, '12a'))
      .then((decision) => {
        expect(decision.branch).toBe('OnUnauthorized');
        expect(decision).toHaveProperty('event.data.reason', 'Unauthorized');
      });
  });

  it('an unauthorized agent on an unknown contact gets OnUnauthorized, not NotFound', () => {
    endContactSpec
      .given([])
      .when(endContact(viewer))
      .then((decision) => expect(decision.branch).toBe('OnUnauthorized'));
  });

  it('an authorized agent with a malformed ID gets Malformed even when the state says ended', () => {
    endContactSpec
      .given(endedContact)
      .when(endContact(ender, '12a', 'cmd-1'))
      .then((decision) => expect(decision).toMatchObject({ branch: 'OnInvalidContactID', cause: 'Malformed' }));
  });

  it.each(['0', '7', '1234567890123456789'])('a well-formed ID of 1 to 19 digits is accepted: %s', (id) => {
    endContactSpec
      .given([started('Chat', BU, id)])
      .when(endContact(ender, id))
      .then((decision) => {
        expect(decision).toMatchObject({ branch: 'OnSuccess', contactId: id, replayed: false });
        expect(decision).toHaveProperty('event.data.contactId', id);
      });
  });
});

describe.each(MEDIA_TYPES)('StartContact of a %s contact', (mediaType) => {
  const startContact = (skill?: string): StartContact => ({
    type: 'StartContact',
    data: { contactId: CONTACT_ID, businessUnitId: BU, mediaType, ...(skill !== undefined ? { skill } : {}), now },
  });

  it('Started: ContactStarted with the skill when given', () => {
    startContactSpec
      .given([])
      .when(startContact('billing'))
      .then({
        result: 'Started',
        event: {
          type: 'ContactStarted',
          data: {
            contactId: CONTACT_ID,
            businessUnitId: BU,
            mediaType,
            skill: 'billing',
            startedAt: now.toISOString(),
          },
        },
      });
  });

  it('Started: ContactStarted without a skill key when none is given', () => {
    startContactSpec
      .given([])
      .when(startContact())
      .then({
        result: 'Started',
        event: {
          type: 'ContactStarted',
          data: { contactId: CONTACT_ID, businessUnitId: BU, mediaType, startedAt: now.toISOString() },
        },
      });
  });

  it('AlreadyExists on an active contact', () => {
    startContactSpec
      .given([started(mediaType)])
      .when(startContact())
      .then({ result: 'AlreadyExists', detail: `Contact ${CONTACT_ID} already exists` });
  });

  it('AlreadyExists on an ended contact', () => {
    startContactSpec
      .given([started(mediaType), ended(mediaType, 'cmd-1')])
      .when(startContact())
      .then({ result: 'AlreadyExists', detail: `Contact ${CONTACT_ID} already exists` });
  });
});

describe('evolve', () => {
  it('ignores a ContactEnded on an empty stream', () => {
    expect(foldContact([ended('Email', 'cmd-1')])).toStrictEqual(initialState());
    startContactSpec
      .given([ended('Email', 'cmd-1')])
      .when({ type: 'StartContact', data: { contactId: CONTACT_ID, businessUnitId: BU, mediaType: 'Email', now } })
      .then((decision) => expect(decision.result).toBe('Started'));
  });

  it('folds a started then ended stream into the ended state, with the commandId that ended it', () => {
    const startedWithSkill: ContactEventEnvelope = {
      type: 'ContactStarted',
      data: { contactId: CONTACT_ID, businessUnitId: BU, mediaType: 'SMS', skill: 'sales', startedAt },
    };
    expect(foldContact([startedWithSkill, ended('SMS', 'cmd-1')])).toStrictEqual({
      status: 'Ended',
      contactId: CONTACT_ID,
      businessUnitId: BU,
      mediaType: 'SMS',
      skill: 'sales',
      startedAt,
      endedAt: firstEndAt,
      endedBy: 'agent-1',
      endedByCommandId: 'cmd-1',
    });
  });

  it('folds a started stream into the active state without a skill key when none was given', () => {
    expect(foldContact([started('WorkItem')])).toStrictEqual({
      status: 'Active',
      contactId: CONTACT_ID,
      businessUnitId: BU,
      mediaType: 'WorkItem',
      startedAt,
    });
  });
});

describe('decide: one decider over the ContactCommand union', () => {
  const start: StartContact = {
    type: 'StartContact',
    data: { contactId: CONTACT_ID, businessUnitId: BU, mediaType: 'Chat', now },
  };

  it('is Emmett-shaped: initialState, evolve and decide', () => {
    expect(decider).toStrictEqual({ initialState, evolve, decide });
    expect(decider.initialState()).toStrictEqual({ status: 'None' });
  });

  it('a StartContact gets a start decision', () => {
    contactSpec
      .given([])
      .when(start)
      .then({
        result: 'Started',
        event: {
          type: 'ContactStarted',
          data: { contactId: CONTACT_ID, businessUnitId: BU, mediaType: 'Chat', startedAt: now.toISOString() },
        },
      });
    contactSpec
      .given([started('Chat')])
      .when(start)
      .then({ result: 'AlreadyExists', detail: `Contact ${CONTACT_ID} already exists` });
  });

  it('an EndContact gets an end decision', () => {
    contactSpec
      .given([started('Chat')])
      .when(endContact(ender))
      .then((decision) => expect(decision).toMatchObject({ branch: 'OnSuccess', replayed: false }));
    contactSpec
      .given([])
      .when(endContact(viewer))
      .then((decision) => expect(decision).toMatchObject({ branch: 'OnUnauthorized' }));
  });

  it('a contact lives through the decider alone: started, ended, then refused and replayed', () => {
    const commands: ContactCommand[] = [start, endContact(ender, CONTACT_ID, 'cmd-1')];
    let state = decider.initialState();
    for (const command of commands) {
      const decision = decider.decide(command, state);
      if (!('event' in decision) || decision.event.type === 'EndContactRejected') throw new Error('expected an event');
      state = decider.evolve(state, { ...decision.event, commandId: 'cmd-1' });
    }
    expect(state).toMatchObject({ status: 'Ended', endedBy: AGENT, endedByCommandId: 'cmd-1' });
    expect(decider.decide(start, state)).toMatchObject({ result: 'AlreadyExists' });
    expect(decider.decide(endContact(ender, CONTACT_ID, 'cmd-1'), state)).toStrictEqual({
      branch: 'OnSuccess',
      contactId: CONTACT_ID,
      endedAt: now.toISOString(),
      replayed: true,
    });
    expect(decider.decide(endContact(ender, CONTACT_ID, 'cmd-2'), state)).toMatchObject({
      branch: 'OnInvalidContactID',
      cause: 'NotActive',
    });
  });

  it('an unknown command type is refused loudly rather than decided', () => {
    const unknown = { type: 'PauseContact', data: {} } as unknown as ContactCommand;
    expect(() => decide(unknown, initialState())).toThrow(/Unhandled/);
  });
});

describe('mayEndContacts: the caller checks the bulk end asks once for a batch', () => {
  const inactive: Caller = {
    kind: 'Unauthenticated',
    detail: `Agent ${AGENT} is inactive`,
    agentId: AGENT,
    businessUnitId: BU,
  };

  it('lets an agent with Contacts.End through, as that agent', () => {
    expect(mayEndContacts(ender)).toStrictEqual({ allowed: true, agent: ender });
  });

  it.each([
    ['an unauthenticated caller', unauthenticated, 'OnInvalidSecurityUser', 'InvalidSecurityUser'],
    ['an inactive agent', inactive, 'OnInvalidSecurityUser', 'InvalidSecurityUser'],
    ['an agent without Contacts.End', viewer, 'OnUnauthorized', 'Unauthorized'],
  ] as const)(
    'refuses %s with the branch and detail a single end of any contact gets',
    (_who, caller, branch, reason) => {
      const permission = mayEndContacts(caller);
      if (permission.allowed) throw new Error('expected a refusal');
      expect(permission.refusal).toMatchObject({ branch, reason });
      for (const state of [[], [started('Email')], [started('Email'), ended('Email', 'cmd-2')]]) {
        const single = endContactSpec
          .given(state)
          .when(endContact(caller, CONTACT_ID, 'cmd-2'))
          .then(() => {});
        expect(single).toStrictEqual(refuseCaller(endContact(caller, CONTACT_ID, 'cmd-2')));
        expect(single).toMatchObject({ branch, detail: permission.refusal.detail, event: { data: { reason } } });
        // The audit names the same agent, or none, whichever path refused.
        if (!('event' in single) || single.event.type !== 'EndContactRejected') throw new Error('expected a refusal');
        const { agentId, businessUnitId } = single.event.data;
        expect({ agentId, businessUnitId }).toStrictEqual({
          agentId: permission.refusal.agentId,
          businessUnitId: permission.refusal.businessUnitId,
        });
      }
    },
  );

  it('refuseCaller lets an allowed caller through to the contact checks', () => {
    expect(refuseCaller(endContact(ender, 'not-an-id'))).toBeUndefined();
  });
});
