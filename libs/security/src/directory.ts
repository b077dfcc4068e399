/**
 * The security directory deciders: security profiles and agents, each its own stream. Pure.
 * A PUT that changes nothing writes nothing, so retried administration calls are harmless.
 */
import type { AgentEvent, SecurityProfileDefined } from './events.js';

/** The permissions a security profile can grant (docs/design.md, Audit and replay). */
export const CONTACTS_END = 'Contacts.End';
export const CONTACTS_VIEW = 'Contacts.View';
export const AUDIT_READ = 'Audit.Read';
export const KNOWN_PERMISSIONS = [CONTACTS_END, CONTACTS_VIEW, AUDIT_READ] as const;
export type Permission = (typeof KNOWN_PERMISSIONS)[number];

export type SecurityProfile = { profileId: string; name: string; permissions: string[] };
export type Agent = { agentId: string; businessUnitId: string; securityProfileId: string; active: boolean };

export function evolveProfile(_state: SecurityProfile | undefined, event: SecurityProfileDefined): SecurityProfile {
  return { profileId: event.data.profileId, name: event.data.name, permissions: [...event.data.permissions] };
}

export function evolveAgent(_state: Agent | undefined, event: AgentEvent): Agent {
  // Every agent event carries the whole agent, so the last one is the state.
  const { agentId, businessUnitId, securityProfileId, active } = event.data;
  return { agentId, businessUnitId, securityProfileId, active };
}

export const foldProfile = (events: readonly SecurityProfileDefined[]): SecurityProfile | undefined =>
  events.reduce<SecurityProfile | undefined>(evolveProfile, undefined);
export const foldAgent = (events: readonly AgentEvent[]): Agent | undefined =>
  events.reduce<Agent | undefined>(evolveAgent, undefined);

export function decideDefineProfile(
  command: SecurityProfile,
  state: SecurityProfile | undefined,
): SecurityProfileDefined[] {
  const permissions = [...new Set(command.permissions)].sort();
  if (state && state.name === command.name && sameSet(state.permissions, permissions)) return [];
  return [{ type: 'SecurityProfileDefined', data: { profileId: command.profileId, name: command.name, permissions } }];
}

export function decidePutAgent(command: Agent, state: Agent | undefined): AgentEvent[] {
  const data = { ...command };
  if (!state) return [{ type: 'AgentRegistered', data }];
  if (
    state.businessUnitId === command.businessUnitId &&
    state.securityProfileId === command.securityProfileId &&
    state.active === command.active
  ) {
    return [];
  }
  if (state.active && !command.active) return [{ type: 'AgentDeactivated', data }];
  return [{ type: 'AgentUpdated', data }];
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x) => b.includes(x));
