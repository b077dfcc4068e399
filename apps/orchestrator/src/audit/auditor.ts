/** Who may export the audit log (docs/design.md, Audit and replay): the platform, or a SecurityUser with Audit.Read for its business unit. */
import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { AUDIT_READ } from '#security';
import { Credentials } from '../directory/credentials.js';
import { DirectoryService } from '../directory/directory.service.js';
import { bearerToken, type Reader, type RequestLike } from '../http/auth.js';

@Injectable()
export class Auditors {
  constructor(
    private readonly credentials: Credentials,
    private readonly directory: DirectoryService,
  ) {}

  async require(request: RequestLike): Promise<Reader> {
    const token = bearerToken(request);
    if (token === undefined)
      throw new UnauthorizedException('Authorization: Bearer <platform token or SecurityUser> is required');
    if (this.credentials.isPlatform(token)) return { kind: 'platform' };
    const caller = await this.directory.authenticate(token);
    if (caller.kind === 'Unauthenticated') throw new UnauthorizedException(caller.detail);
    if (!caller.permissions.includes(AUDIT_READ))
      throw new ForbiddenException(`Agent ${caller.agentId} lacks permission ${AUDIT_READ}`);
    return { kind: 'agent', agentId: caller.agentId, businessUnitId: caller.businessUnitId };
  }
}
