/** The two credentials of docs/design.md, HTTP: the platform token, and a SecurityUser (agent of a business unit). */
import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { CONTACTS_VIEW } from '#contacts';
import type { Secrets } from '../config/embedded-secrets.js';
import { bearerToken, type Reader, type RequestLike } from '../http/auth.js';
import { SECRETS } from '../infrastructure/tokens.js';
import { DirectoryService } from './directory.service.js';

@Injectable()
export class Credentials {
  private readonly platformToken: Buffer;

  constructor(
    private readonly directory: DirectoryService,
    @Inject(SECRETS) secrets: Secrets,
  ) {
    this.platformToken = Buffer.from(secrets.platformToken);
  }

  isPlatform(token: string | undefined): boolean {
    if (token === undefined) return false;
    const given = Buffer.from(token);
    return given.length === this.platformToken.length && timingSafeEqual(given, this.platformToken);
  }

  requirePlatform(request: RequestLike): void {
    const token = bearerToken(request);
    if (token === undefined) throw new UnauthorizedException('Authorization: Bearer <platform token> is required');
    if (!this.isPlatform(token)) throw new UnauthorizedException('The platform token is not valid');
  }

  /** Platform, or a SecurityUser with Contacts.View, who then sees only its own business unit. */
  async requireReader(request: RequestLike): Promise<Reader> {
    const token = bearerToken(request);
    if (token === undefined) throw new UnauthorizedException('Authorization: Bearer <platform token or SecurityUser> is required');
    if (this.isPlatform(token)) return { kind: 'platform' };
    const caller = await this.directory.authenticate(token);
    if (caller.kind === 'Unauthenticated') throw new UnauthorizedException(caller.detail);
    if (!caller.permissions.includes(CONTACTS_VIEW)) throw new ForbiddenException(`Agent ${caller.agentId} lacks permission ${CONTACTS_VIEW}`);
    return { kind: 'agent', agentId: caller.agentId, businessUnitId: caller.businessUnitId };
  }
}
