/**
 * `@Credential('platform' | 'reader' | 'metrics')`: the route's credential is checked before anything else of the
 * request (a missing or wrong credential is 401 with `WWW-Authenticate: Bearer`, whatever the body), and the OpenAPI
 * document lists the bearer schemes it accepts with their 401/403 answers. The reader is left on the request for the
 * route. `metrics` is /metrics': METRICS_TOKEN or the platform token once METRICS_TOKEN is set, none before.
 * The check itself is run by the global RequestGuard (request.guard.ts), before the input checks, against the
 * CredentialChecks that directory/credentials.ts implements: http/ needs nothing of directory/.
 */
import { SetMetadata, applyDecorators } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { ApiBearerAuth, ApiResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { Reader, RequestLike } from './auth.js';
import { Problem } from './schemas.js';

export const PLATFORM_SCHEME = 'platform';
export const SECURITY_USER_SCHEME = 'securityUser';
export const METRICS_SCHEME = 'metrics';

export type CredentialKind = 'platform' | 'reader' | 'metrics';
const CREDENTIAL = Symbol('credential');

export type ReaderRequest = FastifyRequest & { reader?: Reader };

/** What admitting a credential asks of the credentials (each throws a 401/403 HttpException when refused). */
export interface CredentialChecks {
  requirePlatform(request: RequestLike): void;
  requireMetricsOrPlatform(request: RequestLike): void;
  requireReader(request: RequestLike): Promise<Reader>;
}

export function Credential(kind: CredentialKind): MethodDecorator & ClassDecorator {
  if (kind === 'metrics') {
    return applyDecorators(
      SetMetadata(CREDENTIAL, kind),
      ApiBearerAuth(METRICS_SCHEME),
      ApiBearerAuth(PLATFORM_SCHEME),
      // JSON, named: the route's own answer is text (ApiProduces), its refusal is not.
      ApiResponse({
        status: 401,
        description: 'METRICS_TOKEN is set, and the request carries neither it nor the platform token',
        content: { 'application/json': { schema: Problem } },
      }),
    );
  }
  return applyDecorators(
    SetMetadata(CREDENTIAL, kind),
    ApiBearerAuth(PLATFORM_SCHEME),
    ...(kind === 'reader' ? [ApiBearerAuth(SECURITY_USER_SCHEME)] : []),
    ApiResponse({ status: 401, description: 'No credential, or not a valid one', schema: Problem }),
    ...(kind === 'reader'
      ? [ApiResponse({ status: 403, description: `A SecurityUser without Contacts.View`, schema: Problem })]
      : []),
  );
}

/** The credential a route asks for (`@Credential` on its method or its controller), if any. */
export function credentialKindOf(
  reflector: Reflector,
  handler: Function,
  controller: Function,
): CredentialKind | undefined {
  return reflector.getAllAndOverride<CredentialKind | undefined>(CREDENTIAL, [handler, controller]);
}

/** Checks the request's credential; throws 401/403 (HttpExceptions), else leaves the reader on the request. */
export async function admitCredential(
  kind: CredentialKind,
  request: ReaderRequest,
  credentials: CredentialChecks,
): Promise<void> {
  if (kind === 'platform') {
    credentials.requirePlatform(request);
    request.reader = { kind: 'platform' };
  } else if (kind === 'metrics') {
    credentials.requireMetricsOrPlatform(request);
  } else {
    request.reader = await credentials.requireReader(request);
  }
}

/** The reader the guard accepted. */
export function readerOf(request: FastifyRequest): Reader {
  const reader = (request as ReaderRequest).reader;
  if (!reader) throw new Error('route has no @Credential');
  return reader;
}
