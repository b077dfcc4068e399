/** The security directory's request parts and answers (directory.controller.ts). */
import Type from 'typebox';
import { KNOWN_PERMISSIONS } from '#security';
import { enumOf, Identifier } from '../http/schemas.js';

export const ProfilePath = Type.Object(
  { profileId: Identifier('the security profile ID', 'supervisor') },
  { additionalProperties: false },
);
export const ProfileBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, examples: ['Supervisor'] }),
    permissions: Type.Array(enumOf(KNOWN_PERMISSIONS), { maxItems: 32, examples: [['Contacts.End', 'Contacts.View']] }),
  },
  { additionalProperties: false },
);

export const AgentPath = Type.Object({ agentId: Identifier('the agent ID', 'ada') }, { additionalProperties: false });
export const AgentBody = Type.Object(
  {
    businessUnitId: Identifier('the business unit', 'acme'),
    securityProfileId: Identifier('the security profile', 'supervisor'),
    active: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const SecurityUserBody = Type.Object(
  { agentId: Identifier('the agent the SecurityUser names', 'ada') },
  { additionalProperties: false },
);

export const Profile = Type.Object(
  { profileId: Type.String(), name: Type.String(), permissions: Type.Array(Type.String()) },
  { title: 'SecurityProfile' },
);
export const Agent = Type.Object(
  { agentId: Type.String(), businessUnitId: Type.String(), securityProfileId: Type.String(), active: Type.Boolean() },
  { title: 'Agent' },
);
export const IssuedSecurityUser = Type.Object(
  { securityUser: Type.String(), agentId: Type.String(), businessUnitId: Type.String(), expiresAt: Type.String() },
  { title: 'SecurityUser' },
);
