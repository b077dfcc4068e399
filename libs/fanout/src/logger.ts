/** What the forwarder needs from a logger; pino, Nest's Logger or console all fit. */
export interface ForwarderLogger {
  info(message: string): void;
  warn(message: string, error?: unknown): void;
  error(message: string, error?: unknown): void;
}

export const consoleLogger: ForwarderLogger = {
  info: (message) => console.info(message),
  warn: (message, error) => (error === undefined ? console.warn(message) : console.warn(message, error)),
  error: (message, error) => (error === undefined ? console.error(message) : console.error(message, error)),
};

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
