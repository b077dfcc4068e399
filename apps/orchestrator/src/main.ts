import { ConfigurationError } from './config/configuration.js';
import { startService } from './bootstrap.js';
import { StartupError } from './config/startup-error.js';
import { maskConnectionStrings } from '#event-store';
import { logDestination } from './infrastructure/logger.js';

const SHUTDOWN_GRACE_MS = 30_000;
const LOG_FLUSH_MS = 1_000;
/**
 * A worker thread (the SQLite writer, the views) stopped without being asked to: the service shuts down gracefully
 * and exits with this code (EX_SOFTWARE), so that its supervisor starts it again (docs/decisions.md, Storage).
 */
const WORKER_STOPPED_EXIT_CODE = 70;

try {
  const { close, logger, workerStopped } = await startService();
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
  /** `code`: the exit code once everything closed (a failed close exits 1, or `code` when that is not 0). */
  const shutdown = (signal: NodeJS.Signals | undefined, code = 0): void => {
    if (stopping) {
      if (signal === undefined) return;
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
      () => exit(code),
      (error: unknown) => {
        log(() => logger.error({ err: error }, 'shutdown failed'));
        exit(code === 0 ? 1 : code);
      },
    );
  };
  // A promise nobody awaited rejected: a library's background work, such as kafkajs timing out a request to a paused
  // broker (its known unhandled rejection), which would end the process by default. The awaited paths fail too and
  // retry on their own (the forwarder, the command consumer): logged, and the service goes on (docs/operations.md).
  process.on('unhandledRejection', (reason) =>
    log(() =>
      logger.error(
        { err: reason },
        'unhandled promise rejection: logged, the service keeps running (its own retries cover the work that failed)',
      ),
    ),
  );
  process.on('SIGTERM', (signal) => shutdown(signal));
  process.on('SIGINT', (signal) => shutdown(signal));
  // Nothing restarts a worker thread in place: the process ends, cleanly, and its supervisor starts a new one.
  void workerStopped.then((reason) => {
    // Already shutting down (a signal): that shutdown goes on and ends with its own code.
    if (stopping) return log(() => logger.error({ reason }, `${reason} while shutting down`));
    log(() =>
      logger.error(
        { reason },
        `${reason}: shutting down, then exiting with ${WORKER_STOPPED_EXIT_CODE} so that the supervisor restarts the service`,
      ),
    );
    shutdown(undefined, WORKER_STOPPED_EXIT_CODE);
  });
} catch (error) {
  const code = error instanceof ConfigurationError ? 78 : 1;
  const detail =
    error instanceof ConfigurationError || error instanceof StartupError
      ? error.message
      : ((error as Error).stack ?? String(error));
  // No password of a connection string reaches the output, whatever the error quoted.
  const shown = maskConnectionStrings(detail);
  process.stderr.write(code === 78 ? `${shown}\n` : `contact-orchestrator failed to start: ${shown}\n`);
  // Log lines of the start-up still being written are given a moment (bounded) before the exit.
  await logDestination.flush(LOG_FLUSH_MS);
  process.exit(code);
}
