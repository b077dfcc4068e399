/**
 * Given events / When command / Then decision, in the spirit of Emmett's `DeciderSpecification`:
 * a business rule is tested by folding past events with `evolve` and running `decide`, with no store and no clock.
 */
import { expect } from 'vitest';
import {
  decider,
  type ContactCommand,
  type ContactDecision,
  type ContactEventEnvelope,
  type ContactState,
  type EndContact,
  type EndContactDecision,
  type StartContact,
  type StartContactDecision,
} from '../contact.js';

export type Decider<Command, State, Event, Decision> = {
  initialState: () => State;
  evolve: (state: State, event: Event) => State;
  decide: (command: Command, state: State) => Decision;
};

/** The exact decision expected, or an assertion run on the decision when only part of it matters. */
export type Expectation<Decision> = Decision | ((decision: Decision) => void);

export const DeciderSpecification = {
  for<Command, State, Event, Decision>(decider: Decider<Command, State, Event, Decision>) {
    return {
      given: (events: readonly Event[]) => ({
        when: (command: Command) => {
          const decide = (): Decision => decider.decide(command, events.reduce(decider.evolve, decider.initialState()));
          return {
            then(expected: Expectation<Decision>): Decision {
              const decision = decide();
              if (typeof expected === 'function') (expected as (decision: Decision) => void)(decision);
              // Strict: an optional field must be absent, not present as undefined.
              else expect(decision).toStrictEqual(expected);
              return decision;
            },
          };
        },
      }),
    };
  },
};

/** The contact decider over its whole command union. */
export const contactSpec = DeciderSpecification.for<
  ContactCommand,
  ContactState,
  ContactEventEnvelope,
  ContactDecision
>(decider);

/** The same decider, typed for one command so that its decision reads without narrowing. */
export const endContactSpec = DeciderSpecification.for<
  EndContact,
  ContactState,
  ContactEventEnvelope,
  EndContactDecision
>(decider);

export const startContactSpec = DeciderSpecification.for<
  StartContact,
  ContactState,
  ContactEventEnvelope,
  StartContactDecision
>(decider);
