/** Who may export the audit log (docs/design.md, Audit and replay): the platform, or a SecurityUser with Audit.Read for its business unit. */
import { Injectable, UnauthorizedException } from '@nestjs/common';
import { AUDIT_READ, authorize } from '#security';
import { allowedOrThrow, Credentials } from '../directory/credentials.js';
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
    const { agentId, businessUnitId } = allowedOrThrow(authorize(await this.directory.authenticate(token), AUDIT_READ));
    return { kind: 'agent', agentId, businessUnitId };
  }
}
