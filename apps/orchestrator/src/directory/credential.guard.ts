/**
 * `@Credential('platform' | 'reader')`: the route's credential is checked before anything else of the request (a
 * missing or wrong credential is 401 with `WWW-Authenticate: Bearer`, whatever the body), and the OpenAPI document
 * lists the bearer schemes it accepts with their 401/403 answers. The reader is left on the request for the route.
 */
import { Injectable, SetMetadata, UseGuards, applyDecorators, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBearerAuth, ApiResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { Reader } from '../http/auth.js';
import { Problem } from '../http/schemas.js';
import { Credentials } from './credentials.js';

export const PLATFORM_SCHEME = 'platform';
export const SECURITY_USER_SCHEME = 'securityUser';

type Kind = 'platform' | 'reader';
const CREDENTIAL = Symbol('credential');

export type ReaderRequest = FastifyRequest & { reader?: Reader };

export function Credential(kind: Kind): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(CREDENTIAL, kind),
    UseGuards(CredentialGuard),
    ApiBearerAuth(PLATFORM_SCHEME),
    ...(kind === 'reader' ? [ApiBearerAuth(SECURITY_USER_SCHEME)] : []),
    ApiResponse({ status: 401, description: 'No credential, or not a valid one', schema: Problem as never }),
    ...(kind === 'reader' ? [ApiResponse({ status: 403, description: `A SecurityUser without Contacts.View`, schema: Problem as never })] : []),
  );
}

@Injectable()
export class CredentialGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly credentials: Credentials,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const kind = this.reflector.getAllAndOverride<Kind | undefined>(CREDENTIAL, [context.getHandler(), context.getClass()]);
    const request = context.switchToHttp().getRequest<ReaderRequest>();
    if (kind === 'platform') {
      this.credentials.requirePlatform(request);
      request.reader = { kind: 'platform' };
    } else if (kind === 'reader') {
      request.reader = await this.credentials.requireReader(request);
    }
    return true;
  }
}

/** The reader the guard accepted. */
export function readerOf(request: FastifyRequest): Reader {
  const reader = (request as ReaderRequest).reader;
  if (!reader) throw new Error('route has no @Credential');
  return reader;
}
