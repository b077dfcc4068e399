import { ConfigurationError } from './config/configuration.js';
import { startService } from './bootstrap.js';

startService().catch((error: unknown) => {
  if (error instanceof ConfigurationError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`contact-orchestrator failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
