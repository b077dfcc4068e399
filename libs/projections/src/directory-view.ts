/** The security directory view: agents and security profiles as the platform last defined them. */
import type Database from 'better-sqlite3';
import { statement } from './statements.js';
import type { Projection } from './projection.js';

export type AgentView = { agentId: string; businessUnitId: string; securityProfileId: string; active: boolean; position: string };
export type SecurityProfileView = { profileId: string; name: string; permissions: string[]; position: string };

export const directoryViewProjection: Projection<never> = {
  name: 'directory-view',
  tables: [
    `CREATE TABLE IF NOT EXISTS agents (
      agent_id TEXT PRIMARY KEY, business_unit_id TEXT NOT NULL, security_profile_id TEXT NOT NULL,
      active INTEGER NOT NULL, position TEXT NOT NULL) WITHOUT ROWID`,
    `CREATE TABLE IF NOT EXISTS security_profiles (
      profile_id TEXT PRIMARY KEY, name TEXT NOT NULL, permissions TEXT NOT NULL, position TEXT NOT NULL) WITHOUT ROWID`,
  ],
  indexes: [],
  reset: ['DELETE FROM agents', 'DELETE FROM security_profiles'],
  // Rows are upserted in log order, so the last definition in a batch wins, as it does one event at a time.
  apply: (batch) => [
    `INSERT INTO security_profiles (profile_id, name, permissions, position)
     SELECT b.data->>'profileId', b.data->>'name', b.data->'permissions', b.position
     FROM ${batch} AS b WHERE b.type = 'SecurityProfileDefined' ORDER BY b.ord
     ON CONFLICT(profile_id) DO UPDATE SET name = excluded.name, permissions = excluded.permissions, position = excluded.position`,
    `INSERT INTO agents (agent_id, business_unit_id, security_profile_id, active, position)
     SELECT b.data->>'agentId', b.data->>'businessUnitId', b.data->>'securityProfileId', CASE WHEN b.data->>'active' THEN 1 ELSE 0 END, b.position
     FROM ${batch} AS b WHERE b.type IN ('AgentRegistered', 'AgentUpdated', 'AgentDeactivated') ORDER BY b.ord
     ON CONFLICT(agent_id) DO UPDATE SET business_unit_id = excluded.business_unit_id,
       security_profile_id = excluded.security_profile_id, active = excluded.active, position = excluded.position`,
  ],
};

export function findAgent(db: Database.Database, agentId: string): AgentView | undefined {
  const row = statement<[string], { agent_id: string; business_unit_id: string; security_profile_id: string; active: number | bigint; position: string }>(
    db,
    'SELECT * FROM agents WHERE agent_id = ?',
  ).get(agentId);
  return row
    ? { agentId: row.agent_id, businessUnitId: row.business_unit_id, securityProfileId: row.security_profile_id, active: Number(row.active) === 1, position: row.position }
    : undefined;
}

export function findSecurityProfile(db: Database.Database, profileId: string): SecurityProfileView | undefined {
  const row = statement<[string], { profile_id: string; name: string; permissions: string; position: string }>(
    db,
    'SELECT * FROM security_profiles WHERE profile_id = ?',
  ).get(profileId);
  return row ? { profileId: row.profile_id, name: row.name, permissions: JSON.parse(row.permissions) as string[], position: row.position } : undefined;
}
