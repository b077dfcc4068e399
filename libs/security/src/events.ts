/** Events of the security directory: streams `security-profile-{profileId}` and `agent-{agentId}` (docs/design.md, Events). */
export type SecurityProfileDefined = {
  type: 'SecurityProfileDefined';
  data: { profileId: string; name: string; permissions: string[] };
};

type AgentData = { agentId: string; businessUnitId: string; securityProfileId: string; active: boolean };
export type AgentRegistered = { type: 'AgentRegistered'; data: AgentData };
export type AgentUpdated = { type: 'AgentUpdated'; data: AgentData };
export type AgentDeactivated = { type: 'AgentDeactivated'; data: AgentData };

export type AgentEvent = AgentRegistered | AgentUpdated | AgentDeactivated;
export type DirectoryEvent = SecurityProfileDefined | AgentEvent;

export const securityProfileStreamId = (profileId: string): string => `security-profile-${profileId}`;
export const agentStreamId = (agentId: string): string => `agent-${agentId}`;
