/**
 * The credentials of docs/design.md, HTTP: the platform token, a SecurityUser (agent of a business unit), and the
 * scrapers' METRICS_TOKEN, which reads /metrics and /health's details and nothing else (docs/security.md).
 */
import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { authorize, CONTACTS_VIEW, type AgentCaller, type Authorization } from '#security';
import type { AppConfig } from '../config/configuration.js';
import type { Secrets } from '../config/embedded-secrets.js';
import { bearerToken, type Reader, type RequestLike } from '../http/auth.js';
import { APP_CONFIG, SECRETS } from '../infrastructure/tokens.js';
import { DirectoryService } from './directory.service.js';

/** The same bytes, compared in constant time (the length alone may show). */
function sameToken(token: string | undefined, expected: Buffer | undefined): boolean {
  if (token === undefined || expected === undefined) return false;
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The agent an authorization allows, or its refusal as HTTP: 401 for no valid SecurityUser, 403 for a permission. */
export function allowedOrThrow(authorization: Authorization): AgentCaller {
  if (authorization.allowed) return authorization.agent;
  const { reason, detail } = authorization.refusal;
  throw reason === 'InvalidSecurityUser' ? new UnauthorizedException(detail) : new ForbiddenException(detail);
}

@Injectable()
export class Credentials {
  private readonly platformToken: Buffer;
  private readonly metricsToken: Buffer | undefined;

  constructor(
    private readonly directory: DirectoryService,
    @Inject(SECRETS) secrets: Secrets,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'metricsToken'>,
  ) {
    this.platformToken = Buffer.from(secrets.platformToken);
    this.metricsToken = config.metricsToken !== undefined ? Buffer.from(config.metricsToken) : undefined;
  }

  isPlatform(token: string | undefined): boolean {
    return sameToken(token, this.platformToken);
  }

  /** METRICS_TOKEN or the platform token: who reads /metrics (when METRICS_TOKEN is set) and /health's details. */
  isMetricsOrPlatform(token: string | undefined): boolean {
    const metrics = sameToken(token, this.metricsToken);
    const platform = this.isPlatform(token);
    return metrics || platform;
  }

  /** /metrics: open while METRICS_TOKEN is unset (as before it existed); once set, it or the platform token. */
  requireMetricsOrPlatform(request: RequestLike): void {
    if (this.metricsToken === undefined) return;
    const token = bearerToken(request);
    if (token === undefined)
      throw new UnauthorizedException('Authorization: Bearer <METRICS_TOKEN or platform token> is required');
    if (!this.isMetricsOrPlatform(token))
      throw new UnauthorizedException('The token is neither METRICS_TOKEN nor the platform token');
  }

  requirePlatform(request: RequestLike): void {
    const token = bearerToken(request);
    if (token === undefined) throw new UnauthorizedException('Authorization: Bearer <platform token> is required');
    if (!this.isPlatform(token)) throw new UnauthorizedException('The platform token is not valid');
  }

  /** Platform, or a SecurityUser with Contacts.View, who then sees only its own business unit. */
  async requireReader(request: RequestLike): Promise<Reader> {
    const token = bearerToken(request);
    if (token === undefined)
      throw new UnauthorizedException('Authorization: Bearer <platform token or SecurityUser> is required');
    if (this.isPlatform(token)) return { kind: 'platform' };
    const { agentId, businessUnitId } = allowedOrThrow(
      authorize(await this.directory.authenticate(token), CONTACTS_VIEW),
    );
    return { kind: 'agent', agentId, businessUnitId };
  }
}
