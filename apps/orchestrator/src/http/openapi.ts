/**
 * The OpenAPI document clients are generated from (docs/design.md, HTTP): OpenAPI 3.1 (the schemas are JSON Schema), both bearer
 * schemes, and the links of the stateful flow SetSecurityUser → StartContact → end that schemathesis follows.
 */
import { applyDecorators } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { ApiResponse, DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { METRICS_SCHEME, PLATFORM_SCHEME, SECURITY_USER_SCHEME } from './credential.guard.js';
import { Problem } from './schemas.js';

/** 503 when the store cannot be reached or stays locked past STORE_TIMEOUT_MS: every route that touches it. */
export const StoreFailures = (): MethodDecorator =>
  applyDecorators(
    ApiResponse({
      status: 503,
      description: 'The event store is unavailable (or locked past STORE_TIMEOUT_MS); nothing written',
      schema: Problem,
    }),
  );

type Links = Record<
  string,
  { operationId: string; parameters?: Record<string, string>; requestBody?: unknown; description: string }
>;

/** Links by operationId and status: what a response gives the next call. */
const LINKS: Record<string, Record<string, Links>> = {
  PutSecurityProfile: {
    '200': {
      PutAgent: {
        operationId: 'PutAgent',
        requestBody: { businessUnitId: 'acme', securityProfileId: '$response.body#/profileId', active: true },
        description: 'An active agent with this profile',
      },
    },
  },
  PutAgent: {
    '200': {
      SetSecurityUser: {
        operationId: 'SetSecurityUser',
        requestBody: { agentId: '$response.body#/agentId' },
        description: 'A SecurityUser for this agent',
      },
    },
  },
  SetSecurityUser: {
    '201': {
      StartContact: {
        operationId: 'StartContact',
        requestBody: { businessUnitId: '$response.body#/businessUnitId', mediaType: 'Chat' },
        description: 'A contact in the business unit of the SecurityUser',
      },
    },
  },
  StartContact: {
    '201': {
      EndContact: {
        operationId: 'EndContact',
        parameters: { contactId: '$response.body#/contactId' },
        description: 'End the contact just started',
      },
      GetContact: {
        operationId: 'GetContact',
        parameters: { contactId: '$response.body#/contactId' },
        description: 'The contact just started',
      },
      GetContactHistory: {
        operationId: 'GetContactHistory',
        parameters: { contactId: '$response.body#/contactId' },
        description: 'Its history',
      },
    },
  },
  EndContact: {
    '200': {
      GetContact: {
        operationId: 'GetContact',
        parameters: { contactId: '$response.body#/contactId' },
        description: 'The contact, now Ended',
      },
    },
  },
};

type Response = {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: unknown }>;
  links?: Links;
};
type Operation = { operationId?: string; requestBody?: unknown; responses?: Record<string, Response> };

/** Never rate limited (probes and scrapes); every other operation can answer 429 (http/limits.ts). */
const UNLIMITED = new Set(['/health', '/metrics']);

/**
 * The answers of the HTTP limits (http/limits.ts, docs/security.md) on the operations they apply to, with the body
 * that operation's refusals have (the end command keeps its `{contactId, branch, error}`).
 */
function addLimitAnswers(path: string, operation: Operation): void {
  const responses = (operation.responses ??= {});
  const refusal = responses['400']?.content ?? { 'application/json': { schema: Problem } };
  const add = (status: string, description: string, headers?: Record<string, unknown>) => {
    responses[status] ??= { description, content: refusal, ...(headers ? { headers } : {}) };
  };
  if (!UNLIMITED.has(path)) {
    add(
      '429',
      'More than RATE_LIMIT_PER_MINUTE requests a minute from this credential (or this client address without one)',
      {
        'Retry-After': { description: 'Seconds until the limit resets', schema: { type: 'integer', minimum: 0 } },
      },
    );
  }
  if (operation.requestBody !== undefined) {
    add('408', 'The body did not arrive within HTTP_REQUEST_TIMEOUT_MS');
    add('413', "The body is larger than this route's limit (HTTP_BODY_LIMIT_BYTES, HTTP_LARGE_BODY_LIMIT_BYTES)");
    add('415', 'The body is not sent as Content-Type: application/json');
  }
}

/**
 * `metricsOpen`: METRICS_TOKEN is unset, so /metrics needs no credential; its operation then lists the empty
 * requirement `{}` beside the two tokens (a credential is optional), as the service behaves.
 */
export function buildDocument(app: INestApplication, options: { metricsOpen: boolean }): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setOpenAPIVersion('3.1.0')
      .setTitle('contact-orchestrator')
      .setDescription(
        'End a Contact, event-sourced: commands, the live contact view, history, and the Studio action. ' +
          'A missing credential is 401 with `WWW-Authenticate: Bearer`; a method a path does not have is 405 with `Allow`; ' +
          'a store that cannot be reached is 503 with a body on every endpoint.',
      )
      .setVersion('1')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          description: 'The platform token (PLATFORM_TOKEN): the ACD, script runtime, admin',
        },
        PLATFORM_SCHEME,
      )
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A SecurityUser naming one agent: issued by SetSecurityUser (HS256, the service’s key ring), or by the identity provider SECURITY_USER_JWKS_URL names (RS256, ES256, EdDSA…: its issuer and audience)',
        },
        SECURITY_USER_SCHEME,
      )
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          description: 'METRICS_TOKEN, the scrapers’ token: /metrics and the details of /health, nothing else',
        },
        METRICS_SCHEME,
      )
      .build(),
  );
  if (options.metricsOpen) (document.paths['/metrics']?.get?.security as unknown[] | undefined)?.push({});
  for (const [route, path] of Object.entries(document.paths)) {
    for (const operation of Object.values(path) as Operation[]) {
      if (operation && typeof operation === 'object') addLimitAnswers(route, operation);
      const links = operation?.operationId ? LINKS[operation.operationId] : undefined;
      if (!links || !operation.responses) continue;
      for (const [status, byName] of Object.entries(links)) {
        const response = operation.responses[status];
        if (response) response.links = byName;
      }
    }
  }
  return document;
}
