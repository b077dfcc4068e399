/**
 * Every error leaves as JSON in one place. Framework errors (broken JSON, oversize bodies, wrong content type)
 * become a 4xx naming what was wrong; the end endpoint keeps its `{contactId, branch, error}` body.
 */
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EventStoreUnavailableError } from '#event-store';
import type { AppLogger } from '../infrastructure/logger.js';

type Problem = { statusCode: number; error: string; message: string; field?: string };
const END_PATH = /^\/v1\/contacts\/([^/?]*)\/end(?:\?|$)/;

@Catch()
export class ErrorsFilter implements ExceptionFilter {
  constructor(private readonly logger: AppLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const problem = this.toProblem(exception, request);
    const endMatch = END_PATH.exec(request.url);
    const body = endMatch
      ? {
          contactId: safeDecode(endMatch[1]!),
          branch: 'Default',
          error: { code: 'InvalidRequest', message: problem.message, ...(problem.field ? { field: problem.field } : {}) },
        }
      : problem;
    void reply.status(problem.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private toProblem(exception: unknown, request: FastifyRequest): Problem {
    // Nest wraps Fastify's own 4xx errors (broken JSON, body too large) in an HttpException: describe the original.
    const cause = exception instanceof HttpException ? (exception.cause as { code?: unknown } | undefined) : undefined;
    if (typeof cause?.code === 'string' && cause.code.startsWith('FST_')) exception = cause;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && 'message' in response) {
        const r = response as { message: unknown; error?: string; field?: string };
        const message = Array.isArray(r.message) ? r.message.join('; ') : String(r.message);
        return { statusCode: status, error: r.error ?? exception.name, message, ...(r.field ? { field: r.field } : {}) };
      }
      return { statusCode: status, error: exception.name, message: String(response) };
    }
    const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return { statusCode: fastifyError.statusCode, error: fastifyError.code ?? 'Bad Request', ...describeFrameworkError(fastifyError, request) };
    }
    if (exception instanceof EventStoreUnavailableError) {
      this.logger.error({ err: exception, method: request.method, url: request.url }, 'event store unavailable');
      return { statusCode: 503, error: 'Service Unavailable', message: `Event store unavailable: ${exception.message}` };
    }
    this.logger.error({ err: exception, method: request.method, url: request.url }, 'unexpected error');
    return { statusCode: 500, error: 'Internal Server Error', message: 'Unexpected error; see the service log' };
  }
}

function describeFrameworkError(error: { code?: string; message?: string }, request: FastifyRequest): { message: string; field?: string } {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { message: `body is not valid JSON: ${error.message ?? ''}`.trim(), field: 'body' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { message: `body is larger than the ${request.routeOptions.bodyLimit ?? 'configured'} bytes this route accepts`, field: 'body' };
    case 'JSON_TOO_DEEP':
      return { message: error.message ?? 'body nests too deep', field: 'body' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { message: 'body must be sent as Content-Type: application/json', field: 'content-type' };
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
