/**
 * The service's one logger: pino, pretty on a terminal and JSON lines otherwise. Libraries take it as their `Log`
 * (#runtime); Nest's own messages and the request log go through it by nestjs-pino.
 */
import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { pino, type Logger } from 'pino';
import { NonBlockingDestination } from './log-destination.js';

export type AppLogger = Logger;

/** Credentials never reach a log line, wherever a caller put them. */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'token',
  '*.token',
  'platformToken',
  '*.platformToken',
  'securityUser',
  '*.securityUser',
  'SecurityUser',
  '*.SecurityUser',
];

/** The logger, and (JSON output) its destination, which shutdown flushes with a bounded wait. */
export function createLogger(level: string, terminal = Boolean(process.stdout.isTTY)): AppLogger {
  const options = { level, base: { service: 'contact-orchestrator' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (terminal) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } });
  return pino(options, logDestination);
}

/** JSON lines to stdout, never blocking the event loop (log-destination.ts). */
export const logDestination = new NonBlockingDestination(1);

/** Set by the route's onRequest hook: the request log names the route pattern, not the URL with its IDs. */
export type RoutedRequest = IncomingMessage & { route?: string };

/**
 * One line per HTTP request when its answer is sent: method, route, status, duration (ms) and correlation ID (the
 * request ID, which X-Correlation-Id sets). No header and no body is logged, so no token either.
 */
export function requestLog(logger: AppLogger): Params {
  return {
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      logger,
      // Only the request ID is bound up front; the fields below are read when the answer is sent.
      quietReqLogger: true,
      quietResLogger: true,
      customAttributeKeys: { reqId: 'correlationId', responseTime: 'durationMs' },
      serializers: { req: () => undefined, res: () => undefined },
      customProps: (req: IncomingMessage, res: ServerResponse) => {
        const routed = req as RoutedRequest;
        return { method: req.method, route: routed.route ?? 'unmatched', status: res.statusCode };
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
      customSuccessMessage: (req, res) => `${req.method} ${(req as RoutedRequest).route ?? req.url} ${res.statusCode}`,
      customErrorMessage: (req, res) => `${req.method} ${(req as RoutedRequest).route ?? req.url} ${res.statusCode}`,
    },
  };
}
