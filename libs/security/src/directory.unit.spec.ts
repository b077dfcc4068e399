import { describe, expect, it } from 'vitest';
import {
  decideDefineProfile,
  decidePutAgent,
  evolveAgent,
  evolveProfile,
  foldAgent,
  foldProfile,
  type Agent,
  type SecurityProfile,
} from './directory.js';
import type { AgentEvent, SecurityProfileDefined } from './events.js';

const defined = (name: string, permissions: string[]): SecurityProfileDefined => ({
  type: 'SecurityProfileDefined',
  data: { profileId: 'supervisors', name, permissions },
});

describe('decideDefineProfile', () => {
  const supervisors: SecurityProfile = {
    profileId: 'supervisors',
    name: 'Supervisors',
    permissions: ['Contacts.End', 'Contacts.View'],
  };

  it('defines a new profile', () => {
    expect(decideDefineProfile(supervisors, undefined)).toStrictEqual([
      defined('Supervisors', ['Contacts.End', 'Contacts.View']),
    ]);
  });

  it('writes nothing when name and permissions are unchanged', () => {
    expect(
      decideDefineProfile(supervisors, foldProfile([defined('Supervisors', ['Contacts.End', 'Contacts.View'])])),
    ).toStrictEqual([]);
  });

  it('writes nothing when only the order of the permissions differs', () => {
    const reordered = { ...supervisors, permissions: ['Contacts.View', 'Contacts.End'] };
    expect(
      decideDefineProfile(reordered, foldProfile([defined('Supervisors', ['Contacts.End', 'Contacts.View'])])),
    ).toStrictEqual([]);
  });

  it('redefines the profile when the name changes', () => {
    const state = foldProfile([defined('Supervisors', ['Contacts.End', 'Contacts.View'])]);
    expect(decideDefineProfile({ ...supervisors, name: 'Team leads' }, state)).toStrictEqual([
      defined('Team leads', ['Contacts.End', 'Contacts.View']),
    ]);
  });

  it('redefines the profile when a permission is removed', () => {
    const state = foldProfile([defined('Supervisors', ['Contacts.End', 'Contacts.View'])]);
    expect(decideDefineProfile({ ...supervisors, permissions: ['Contacts.View'] }, state)).toStrictEqual([
      defined('Supervisors', ['Contacts.View']),
    ]);
  });

  it('redefines the profile when a permission is added', () => {
    const state = foldProfile([defined('Supervisors', ['Contacts.View'])]);
    expect(decideDefineProfile(supervisors, state)).toStrictEqual([
      defined('Supervisors', ['Contacts.End', 'Contacts.View']),
    ]);
  });

  it('redefines the profile when all permissions are removed', () => {
    const state = foldProfile([defined('Supervisors', ['Contacts.View'])]);
    expect(decideDefineProfile({ ...supervisors, permissions: [] }, state)).toStrictEqual([defined('Supervisors', [])]);
  });

  it('dedupes and sorts the permissions', () => {
    const command = { ...supervisors, permissions: ['Contacts.View', 'Contacts.End', 'Contacts.View', 'Contacts.End'] };
    expect(decideDefineProfile(command, undefined)).toStrictEqual([
      defined('Supervisors', ['Contacts.End', 'Contacts.View']),
    ]);
  });

  it('treats duplicates in the command as unchanged when the set is the same', () => {
    const command = { ...supervisors, permissions: ['Contacts.View', 'Contacts.View', 'Contacts.End'] };
    expect(
      decideDefineProfile(command, foldProfile([defined('Supervisors', ['Contacts.End', 'Contacts.View'])])),
    ).toStrictEqual([]);
  });

  it('does not alias the command permissions array into the event', () => {
    const permissions = ['Contacts.End'];
    const [event] = decideDefineProfile({ ...supervisors, permissions }, undefined);
    permissions.push('Contacts.View');
    expect(event!.data.permissions).toStrictEqual(['Contacts.End']);
  });
});

describe('decidePutAgent', () => {
  const agent: Agent = { agentId: 'agent-7', businessUnitId: 'bu-100', securityProfileId: 'supervisors', active: true };
  const registered: AgentEvent = { type: 'AgentRegistered', data: { ...agent } };

  it('registers an unknown agent', () => {
    expect(decidePutAgent(agent, undefined)).toStrictEqual([{ type: 'AgentRegistered', data: agent }]);
  });

  it('registers an agent that starts inactive', () => {
    const inactive = { ...agent, active: false };
    expect(decidePutAgent(inactive, undefined)).toStrictEqual([{ type: 'AgentRegistered', data: inactive }]);
  });

  it('writes nothing when unchanged', () => {
    expect(decidePutAgent({ ...agent }, foldAgent([registered]))).toStrictEqual([]);
  });

  it.each([
    ['business unit', { businessUnitId: 'bu-200' }],
    ['security profile', { securityProfileId: 'agents' }],
  ])('updates the agent when its %s changes', (_what, change) => {
    const command = { ...agent, ...change };
    expect(decidePutAgent(command, foldAgent([registered]))).toStrictEqual([{ type: 'AgentUpdated', data: command }]);
  });

  it('deactivates an active agent with AgentDeactivated', () => {
    const command = { ...agent, active: false };
    expect(decidePutAgent(command, foldAgent([registered]))).toStrictEqual([
      { type: 'AgentDeactivated', data: command },
    ]);
  });

  it('deactivates with AgentDeactivated even when the business unit changes at the same time', () => {
    const command = { ...agent, businessUnitId: 'bu-200', active: false };
    expect(decidePutAgent(command, foldAgent([registered]))).toStrictEqual([
      { type: 'AgentDeactivated', data: command },
    ]);
  });

  it('reactivates an inactive agent with AgentUpdated', () => {
    const state = foldAgent([registered, { type: 'AgentDeactivated', data: { ...agent, active: false } }]);
    expect(decidePutAgent(agent, state)).toStrictEqual([{ type: 'AgentUpdated', data: agent }]);
  });

  it('writes nothing when an inactive agent is put inactive again', () => {
    const inactive = { ...agent, active: false };
    expect(
      decidePutAgent(inactive, foldAgent([registered, { type: 'AgentDeactivated', data: inactive }])),
    ).toStrictEqual([]);
  });

  it('updates an inactive agent moved to another profile without a second AgentDeactivated', () => {
    const state = foldAgent([registered, { type: 'AgentDeactivated', data: { ...agent, active: false } }]);
    const command = { ...agent, securityProfileId: 'agents', active: false };
    expect(decidePutAgent(command, state)).toStrictEqual([{ type: 'AgentUpdated', data: command }]);
  });
});

describe('fold functions', () => {
  it('an empty stream folds to no profile and no agent', () => {
    expect(foldProfile([])).toBeUndefined();
    expect(foldAgent([])).toBeUndefined();
  });

  it('the last profile definition wins', () => {
    expect(
      foldProfile([defined('Supervisors', ['Contacts.End', 'Contacts.View']), defined('Viewers', ['Contacts.View'])]),
    ).toStrictEqual({
      profileId: 'supervisors',
      name: 'Viewers',
      permissions: ['Contacts.View'],
    });
  });

  it('the profile state does not share the event permissions array', () => {
    const event = defined('Supervisors', ['Contacts.View']);
    const state = evolveProfile(undefined, event);
    event.data.permissions.push('Contacts.End');
    expect(state.permissions).toStrictEqual(['Contacts.View']);
  });

  it('registered, updated, deactivated, reactivated: the last event is the agent', () => {
    const base = { agentId: 'agent-7', businessUnitId: 'bu-100', securityProfileId: 'supervisors', active: true };
    const events: AgentEvent[] = [
      { type: 'AgentRegistered', data: base },
      { type: 'AgentUpdated', data: { ...base, businessUnitId: 'bu-200' } },
      { type: 'AgentDeactivated', data: { ...base, businessUnitId: 'bu-200', active: false } },
    ];
    expect(foldAgent(events)).toStrictEqual({ ...base, businessUnitId: 'bu-200', active: false });
    expect(foldAgent([...events, { type: 'AgentUpdated', data: { ...base, businessUnitId: 'bu-200' } }])).toStrictEqual(
      {
        ...base,
        businessUnitId: 'bu-200',
      },
    );
  });

  it('the agent state keeps only the agent fields', () => {
    const event = {
      type: 'AgentRegistered',
      data: { agentId: 'a', businessUnitId: 'b', securityProfileId: 'p', active: true, extra: 1 },
    } as AgentEvent;
    expect(evolveAgent(undefined, event)).toStrictEqual({
      agentId: 'a',
      businessUnitId: 'b',
      securityProfileId: 'p',
      active: true,
    });
  });
});
