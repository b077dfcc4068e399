/** What the contacts specs build their handlers from, besides real stores: a silent logger and a one-agent directory. */
import type { DirectoryService } from '../../directory/directory.service.js';
import type { AppLogger } from '../../infrastructure/logger.js';

export const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as AppLogger;

/** A directory that authenticates every SecurityUser as agent-1 of bu-1, holding Contacts.End. */
export const agentDirectory = {
  authenticate: async () => ({
    kind: 'Agent',
    agentId: 'agent-1',
    businessUnitId: 'bu-1',
    permissions: ['Contacts.End'],
  }),
} as unknown as DirectoryService;
