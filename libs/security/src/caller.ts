/**
 * Who is calling (authentication: `authenticate` in credentials.ts establishes it from a SecurityUser and the
 * directory as it is now) and what it may do (authorization: `authorize`). Pure: refusals are values, and the
 * refusal's detail is written here only, whichever endpoint asks (docs/design.md, End a Contact).
 */
import type { Permission } from './directory.js';

/** An authenticated agent and the permissions its security profile grants now. */
export type AgentCaller = { kind: 'Agent'; agentId: string; businessUnitId: string; permissions: readonly string[] };

/** Who is calling, as established by authenticating the SecurityUser against the directory as it is now. */
export type Caller =
  { kind: 'Unauthenticated'; detail: string; agentId?: string; businessUnitId?: string } | AgentCaller;

/**
 * Why a caller may not do something: it is no valid security user (`InvalidSecurityUser`), or its security profile
 * lacks the permission (`Unauthorized`). The agent is named when the SecurityUser named one, for the audit.
 */
export type AccessRefusal = {
  reason: 'InvalidSecurityUser' | 'Unauthorized';
  detail: string;
  agentId?: string;
  businessUnitId?: string;
};

export type Authorization = { allowed: true; agent: AgentCaller } | { allowed: false; refusal: AccessRefusal };

/** Whether `caller` may do what `permission` grants: the agent when it may, else why not. */
export function authorize(caller: Caller, permission: Permission): Authorization {
  if (caller.kind === 'Unauthenticated') {
    const { detail, agentId, businessUnitId } = caller;
    return {
      allowed: false,
      refusal: {
        reason: 'InvalidSecurityUser',
        detail,
        ...(agentId !== undefined ? { agentId } : {}),
        ...(businessUnitId !== undefined ? { businessUnitId } : {}),
      },
    };
  }
  if (!caller.permissions.includes(permission)) {
    const { agentId, businessUnitId } = caller;
    return {
      allowed: false,
      refusal: {
        reason: 'Unauthorized',
        detail: `Agent ${agentId} lacks permission ${permission}`,
        agentId,
        businessUnitId,
      },
    };
  }
  return { allowed: true, agent: caller };
}
