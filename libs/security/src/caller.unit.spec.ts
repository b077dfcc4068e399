import { describe, expect, it } from 'vitest';
import { authorize, type Caller } from './caller.js';
import { KNOWN_PERMISSIONS } from './directory.js';

const agent = (permissions: string[]): Caller => ({
  kind: 'Agent',
  agentId: 'ada',
  businessUnitId: 'bu-1',
  permissions,
});

describe.each(KNOWN_PERMISSIONS)('authorize for %s', (permission) => {
  it('allows an agent whose profile grants it, as that agent', () => {
    const caller = agent([permission]);
    expect(authorize(caller, permission)).toStrictEqual({ allowed: true, agent: caller });
  });

  it('refuses an agent whose profile lacks it as Unauthorized, naming the agent and the permission', () => {
    const others = KNOWN_PERMISSIONS.filter((p) => p !== permission);
    expect(authorize(agent(others), permission)).toStrictEqual({
      allowed: false,
      refusal: {
        reason: 'Unauthorized',
        detail: `Agent ada lacks permission ${permission}`,
        agentId: 'ada',
        businessUnitId: 'bu-1',
      },
    });
  });

  it('refuses an unauthenticated caller as InvalidSecurityUser with its detail, whatever it claims', () => {
    expect(authorize({ kind: 'Unauthenticated', detail: 'SecurityUser is missing' }, permission)).toStrictEqual({
      allowed: false,
      refusal: { reason: 'InvalidSecurityUser', detail: 'SecurityUser is missing' },
    });
    expect(
      authorize(
        { kind: 'Unauthenticated', detail: 'Agent ada is inactive', agentId: 'ada', businessUnitId: 'bu-1' },
        permission,
      ),
    ).toStrictEqual({
      allowed: false,
      refusal: {
        reason: 'InvalidSecurityUser',
        detail: 'Agent ada is inactive',
        agentId: 'ada',
        businessUnitId: 'bu-1',
      },
    });
  });
});
