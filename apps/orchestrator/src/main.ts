import { ConfigurationError } from './config/configuration.js';
import { startService } from './bootstrap.js';
import { StartupError } from './config/startup-error.js';
import { maskConnectionStrings } from '#event-store';

const SHUTDOWN_GRACE_MS = 30_000;

try {
  const { close, logger } = await startService();
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing in-flight commands');
    setTimeout(() => {
      logger.error(`shutdown took longer than ${SHUTDOWN_GRACE_MS} ms: exiting`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
} catch (error) {
  if (error instanceof ConfigurationError) {
    process.stderr.write(`${maskConnectionStrings(error.message)}\n`);
    process.exit(78);
  }
  const detail = error instanceof StartupError ? error.message : ((error as Error).stack ?? String(error));
  // No password of a connection string reaches the output, whatever the error quoted.
  process.stderr.write(`contact-orchestrator failed to start: ${maskConnectionStrings(detail)}\n`);
  process.exit(1);
}
