/**
 * The service's one logger: pino, pretty on a terminal and JSON lines otherwise. Libraries take it as their `Log`
 * (#runtime); Nest's own messages go through it by nestjs-pino, the request log by a Fastify hook.
 */
import type { Params } from 'nestjs-pino';
import { pino, type Logger } from 'pino';

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

export function createLogger(level: string, terminal = Boolean(process.stdout.isTTY)): AppLogger {
  return pino({
    level,
    base: { service: 'contact-orchestrator' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(terminal ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } } : {}),
  });
}

/**
 * Nest's own messages go through the service's pino logger (nestjs-pino's Logger). No middleware: the request log
 * is written by a Fastify hook (observability/request-log.ts), which costs no AsyncLocalStorage context per request.
 */
export function nestLogger(logger: AppLogger): Params {
  return { pinoHttp: { logger }, useExisting: true, forRoutes: [] };
}
