/**
 * The one logger type of the project: a pino Logger satisfies it, so the service hands its own (or a child) to every
 * library; a library never builds an adapter. Fields first, as pino takes them: `log.warn({ err }, 'message')`.
 */
export interface LogFn {
  (message: string): void;
  (fields: object, message: string): void;
}

export interface Log {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
}

const toConsole =
  (write: (...args: unknown[]) => void): LogFn =>
  (first: string | object, message?: string) =>
    typeof first === 'string' ? write(first) : write(message, first);

/** For code run outside the service (scripts, tests, a worker's parent-less use). */
export const consoleLog: Log = {
  error: toConsole(console.error),
  warn: toConsole(console.warn),
  info: toConsole(console.info),
  debug: toConsole(console.debug),
};

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
