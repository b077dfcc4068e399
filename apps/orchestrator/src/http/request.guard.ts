/**
 * The one global guard: a route's credential first (`@Credential`), then its input (`@Input`), so a request without
 * its credential is 401 before any 400. A guard, not an interceptor: Nest runs a route without interceptors
 * without wrapping it in rxjs Observables, which the profile of the end path showed costing about 7% of the main
 * thread. What each route needs is looked up once per route, not per request.
 */
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import {
  admitCredential,
  credentialKindOf,
  type CredentialChecks,
  type CredentialKind,
  type ReaderRequest,
} from './credential.guard.js';
import { checkInput, inputOf } from './validation.js';

type RouteChecks = { credential: CredentialKind | undefined; input: ReturnType<typeof inputOf> };

@Injectable()
export class RequestGuard implements CanActivate {
  private readonly routes = new WeakMap<Function, RouteChecks>();

  constructor(
    private readonly reflector: Reflector,
    private readonly credentials: CredentialChecks,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const checks = this.checksOf(context);
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (checks.credential === undefined) return this.input(checks, request);
    return admitCredential(checks.credential, request as ReaderRequest, this.credentials).then(() =>
      this.input(checks, request),
    );
  }

  private input(checks: RouteChecks, request: FastifyRequest): true {
    if (checks.input) checkInput(checks.input, request);
    return true;
  }

  private checksOf(context: ExecutionContext): RouteChecks {
    const handler = context.getHandler();
    let checks = this.routes.get(handler);
    if (!checks) {
      checks = {
        credential: credentialKindOf(this.reflector, handler, context.getClass()),
        input: inputOf(this.reflector, handler),
      };
      this.routes.set(handler, checks);
    }
    return checks;
  }
}
