/**
 * Every error leaves as JSON in one place (docs/design.md, HTTP). Framework errors (broken JSON, oversize bodies, wrong content
 * type) become a 4xx naming what was wrong; a 401 carries `WWW-Authenticate: Bearer`; a method the path does not
 * have is 405 with `Allow`; a store failure is 503, never 500. The end endpoint keeps its `{contactId, branch, error}`.
 */
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EventStoreUnavailableError } from '#event-store';
import type { AppLogger } from '../infrastructure/logger.js';
import { pathOf, type RouteTable } from './route-table.js';

type Problem = { statusCode: number; error: string; message: string; field?: string; allow?: string };
const END_PATH = /^\/v1\/contacts\/([^/?]*)\/end(?:\?|$)/;

@Catch()
export class ErrorsFilter implements ExceptionFilter {
  constructor(
    private readonly logger: AppLogger,
    private readonly routes: RouteTable,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { allow, ...problem } = this.toProblem(exception, request);
    const endMatch = request.method === 'POST' ? END_PATH.exec(request.url) : null;
    // A structured answer that is not a problem (terminus' health report) is sent as it is: its details matter.
    const structured = structuredBodyOf(exception);
    const body = endMatch ? endBody(safeDecode(endMatch[1]!), problem) : (structured ?? problem);
    if (allow !== undefined) void reply.header('allow', allow);
    if (problem.statusCode === 401) void reply.header('www-authenticate', 'Bearer');
    void reply.status(problem.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private toProblem(exception: unknown, request: FastifyRequest): Problem {
    // Nest wraps Fastify's own 4xx errors (broken JSON, body too large) in an HttpException: describe the original.
    const cause = exception instanceof HttpException ? (exception.cause as { code?: unknown } | undefined) : undefined;
    if (typeof cause?.code === 'string' && cause.code.startsWith('FST_')) exception = cause;
    // No route for this method, but the path has others: 405 with the methods it has, whatever else failed
    // (Fastify parses a QUERY body before it finds no route).
    const allowed = this.routes.methodsOf(request.url);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      return {
        statusCode: 405,
        error: 'Method Not Allowed',
        message: `${request.method} is not a method of ${pathOf(request.url)}; allowed: ${allowed.join(', ')}`,
        allow: allowed.join(', '),
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && 'message' in response) {
        const r = response as { message: unknown; error?: string; field?: string };
        const message = Array.isArray(r.message) ? r.message.join('; ') : String(r.message);
        return {
          statusCode: status,
          error: r.error ?? exception.name,
          message,
          ...(r.field ? { field: r.field } : {}),
        };
      }
      return {
        statusCode: status,
        error: exception.name,
        message: typeof response === 'string' ? response : JSON.stringify(response),
      };
    }
    const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
    if (
      typeof fastifyError.statusCode === 'number' &&
      fastifyError.statusCode >= 400 &&
      fastifyError.statusCode < 500
    ) {
      return {
        statusCode: fastifyError.statusCode,
        error: fastifyError.code ?? 'Bad Request',
        ...describeFrameworkError(fastifyError, request),
      };
    }
    if (exception instanceof EventStoreUnavailableError || isStoreFailure(exception)) {
      this.logger.error({ err: exception, method: request.method, url: request.url }, 'event store unavailable');
      return {
        statusCode: 503,
        error: 'Service Unavailable',
        message: `Event store unavailable: ${(exception as Error).message}`,
      };
    }
    this.logger.error({ err: exception, method: request.method, url: request.url }, 'unexpected error');
    return { statusCode: 500, error: 'Internal Server Error', message: 'Unexpected error; see the service log' };
  }
}

function structuredBodyOf(exception: unknown): Record<string, unknown> | undefined {
  if (!(exception instanceof HttpException)) return undefined;
  const response = exception.getResponse();
  return typeof response === 'object' && response !== null && !('message' in response)
    ? (response as Record<string, unknown>)
    : undefined;
}

/** The end endpoint's body for a request it refused before the rules ran. */
function endBody(contactId: string, problem: Problem): Record<string, unknown> {
  const detail = { message: problem.message, ...(problem.field ? { field: problem.field } : {}) };
  if (problem.statusCode === 401)
    return { contactId, branch: 'OnInvalidSecurityUser', error: { code: 'InvalidSecurityUser', ...detail } };
  if (problem.statusCode === 503)
    return { contactId, branch: 'Default', error: { code: 'StoreUnavailable', ...detail } };
  if (problem.statusCode === 409)
    return { contactId, branch: 'Default', error: { code: 'CommandIdConflict', ...detail } };
  if (problem.statusCode === 429) return { contactId, branch: 'Default', error: { code: 'RateLimited', ...detail } };
  return { contactId, branch: 'Default', error: { code: 'InvalidRequest', ...detail } };
}

/** SQLite errors that escaped an adapter (a locked, busy, full or unreadable file): the store, not a bug. */
function isStoreFailure(exception: unknown): boolean {
  const code = (exception as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PROTOCOL)/.test(code)
  );
}

function describeFrameworkError(
  error: { code?: string; message?: string },
  request: FastifyRequest,
): { message: string; field?: string } {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { message: `body is not valid JSON: ${error.message ?? ''}`.trim(), field: 'body' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        message: `body is larger than the ${request.routeOptions.bodyLimit ?? 'configured'} bytes this route accepts`,
        field: 'body',
      };
    case 'JSON_TOO_DEEP':
      return { message: error.message ?? 'body nests too deep', field: 'body' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { message: 'body must be sent as Content-Type: application/json', field: 'content-type' };
    case undefined: // not one of Fastify's errors
    default:
      return { message: error.message ?? 'Bad request' };
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
