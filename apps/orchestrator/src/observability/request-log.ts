/**
 * The request log: one line per HTTP request when its answer is sent, with method, route pattern (not the URL with
 * its IDs), status, duration (ms) and correlation ID (the request ID, which X-Correlation-Id sets). No header and
 * no body is logged, so no credential either. A Fastify onResponse hook: nothing is bound per request.
 */
import type { FastifyInstance } from 'fastify';
import type { AppLogger } from '../infrastructure/logger.js';

export function installRequestLog(fastify: FastifyInstance, logger: AppLogger): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : 'info';
    if (logger.isLevelEnabled(level)) {
      const route = request.routeOptions.url ?? 'unmatched';
      logger[level](
        {
          correlationId: request.id,
          method: request.method,
          route,
          status,
          durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
        },
        `${request.method} ${route} ${status}`,
      );
    }
    done();
  });
}
