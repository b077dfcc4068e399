import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

export type AppLogger = Logger;

export function createLogger(level: string): AppLogger {
  return pino({ level, base: { service: 'contact-orchestrator' } });
}

/** Nest's own messages go through the same pino logger, as JSON lines. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: AppLogger) {}
  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
