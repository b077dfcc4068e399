/**
 * What the contacts specs build their handlers from, besides real stores: a silent logger, a one-agent directory, and
 * an EndContact request as an agent's HTTP call makes it.
 */
import { randomUUID } from 'node:crypto';
import type { DirectoryService } from '../../directory/directory.service.js';
import type { AppLogger } from '../../infrastructure/logger.js';
import type { EndContactCommand } from '../end-contact.command.js';

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

/** An EndContact request over HTTP for `contactId`, a fresh command ID (its correlation ID too, unless given). */
export function endRequest(
  contactId: string,
  commandId: string = randomUUID(),
  correlationId: string = randomUUID(),
): EndContactCommand['request'] {
  return { contactId, securityUser: 'token', commandId, correlationId, source: 'http', clientAddress: '127.0.0.1' };
}
