/**
 * npm run views:rebuild — replays the event store from position 0 into DATA_DIR/views.db.
 * Stop the service first: it holds the views database open. (Deleting views.db and restarting does the same
 * thing online: the subscriptions start again from position 0.)
 */
import { join } from 'node:path';
import { loadConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { openEventStore } from '../apps/orchestrator/src/infrastructure/event-store.provider.js';
import { createLogger } from '../apps/orchestrator/src/infrastructure/logger.js';
import { rebuildViews } from '../libs/projections/src/index.js';

const config = loadConfiguration({ PLATFORM_TOKEN: 'x'.repeat(16), SECURITY_USER_SIGNING_KEY: 'x'.repeat(32), ...process.env });
const logger = createLogger(config.logLevel);
const target = process.argv[2] ?? join(config.dataDir, 'views.db');
const store = await openEventStore(config, logger);
const started = Date.now();
try {
  const { head, events } = await rebuildViews(
    store,
    target,
    { info: (m) => logger.info(m), error: (m, err) => logger.error({ err }, m) },
    ({ projection, position, head }) => process.stderr.write(`\r${projection}: ${position}/${head}   `),
  );
  process.stderr.write('\n');
  process.stdout.write(`rebuilt ${target} from position 0 to ${head} (${events} history entries) in ${Date.now() - started} ms\n`);
} finally {
  await store.close();
}
