/**
 * The service's one logger: pino, pretty on a terminal and JSON lines otherwise. Libraries take it as their `Log`
 * (#runtime); Nest's own messages go through it by nestjs-pino, the request log by a Fastify hook.
 */
import { createRequire } from 'node:module';
import type { Params } from 'nestjs-pino';
import { pino, type DestinationStream, type Logger } from 'pino';
import { maskConnectionStrings } from '#event-store';
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
  'metricsToken',
  '*.metricsToken',
  'securityUser',
  '*.securityUser',
  'SecurityUser',
  '*.SecurityUser',
  'connectionString',
  '*.connectionString',
  'esdbConnectionString',
  '*.esdbConnectionString',
  // A kafkajs configuration's SASL password (`{sasl: {password}}`) and a bare password field, one or two levels down.
  'password',
  '*.password',
  'sasl.password',
  '*.sasl.password',
];

/** A connection string's password in any message (an error quoting the address it tried) is masked too. */
const withoutPasswords = (line: string): string => (line.includes('://') ? maskConnectionStrings(line) : line);

/** pino-pretty is a development dependency: a production install (the image) has none, and logs JSON even on a terminal. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** The logger: pretty on a terminal, else JSON lines to `destination` (by default the non-blocking stdout below). */
export function createLogger(
  level: string,
  terminal = Boolean(process.stdout.isTTY),
  destination?: DestinationStream,
): AppLogger {
  const options = {
    level,
    base: { service: 'contact-orchestrator' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: { streamWrite: withoutPasswords },
  };
  if (destination) return pino(options, destination);
  if (terminal && prettyAvailable())
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  return pino(options, logDestination);
}

/** JSON lines to stdout, never blocking the event loop (log-destination.ts); shutdown flushes it with a bounded wait. */
export const logDestination = new NonBlockingDestination(1);

/**
 * Nest's own messages go through the service's pino logger (nestjs-pino's Logger). No middleware: the request log
 * is written by a Fastify hook (observability/request-log.ts), which costs no AsyncLocalStorage context per request.
 */
export function nestLogger(logger: AppLogger): Params {
  return { pinoHttp: { logger }, useExisting: true, forRoutes: [] };
}
