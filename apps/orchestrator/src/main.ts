import { ConfigurationError } from './config/configuration.js';
import { startService } from './bootstrap.js';
import { StartupError } from './config/startup-error.js';
import { maskConnectionStrings } from '#event-store';
import { logDestination } from './infrastructure/logger.js';

const SHUTDOWN_GRACE_MS = 30_000;
const LOG_FLUSH_MS = 1_000;

try {
  const { close, logger } = await startService();
  // Logging never decides whether the process ends: a failing log write is ignored here.
  const log = (write: () => void): void => {
    try {
      write();
    } catch {
      // the log is gone; shutdown goes on
    }
  };
  // A stalled log reader holds the exit for at most this long.
  const exit = (code: number): void => {
    void logDestination.flush(LOG_FLUSH_MS).finally(() => process.exit(code));
  };
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(() => logger.warn({ signal }, 'second signal: exiting now'));
      process.exit(1);
    }
    stopping = true;
    // Armed before anything else, and not unref'd: whatever hangs, the process ends.
    setTimeout(() => {
      log(() => logger.error(`shutdown took longer than ${SHUTDOWN_GRACE_MS} ms: exiting`));
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    log(() => logger.info({ signal }, 'shutting down: no new requests, finishing in-flight commands'));
    close().then(
      () => exit(0),
      (error: unknown) => {
        log(() => logger.error({ err: error }, 'shutdown failed'));
        exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
} catch (error) {
  const code = error instanceof ConfigurationError ? 78 : 1;
  const detail = error instanceof ConfigurationError || error instanceof StartupError ? error.message : ((error as Error).stack ?? String(error));
  // No password of a connection string reaches the output, whatever the error quoted.
  const shown = maskConnectionStrings(detail);
  process.stderr.write(code === 78 ? `${shown}\n` : `contact-orchestrator failed to start: ${shown}\n`);
  // Log lines of the start-up still being written are given a moment (bounded) before the exit.
  await logDestination.flush(LOG_FLUSH_MS);
  process.exit(code);
}
