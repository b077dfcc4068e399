/**
 * npm run views:rebuild — replays the event store from position 0 into DATA_DIR/views.v<schema version>.db, with a progress bar on a
 * terminal (events/s, position/head). Stop the service first: it holds the views database open. (Deleting that file
 * and restarting does the same thing online: the views start again from position 0.)
 */
import { SingleBar } from 'cli-progress';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadToolConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { sharedEventStore } from '../apps/orchestrator/src/infrastructure/event-store.provider.js';
import { SqliteLogReader } from '#event-store';
import { rebuildViews, viewsFileIn, type RebuildSource } from '#projections';

const config = loadToolConfiguration(process.env);
const target = process.argv[2] ?? viewsFileIn(config.dataDir);

async function openSource(): Promise<{ source: RebuildSource; close: () => Promise<void> }> {
  if (config.eventStore !== 'sqlite') {
    const store = await sharedEventStore(config);
    return {
      source: {
        kind: 'pages',
        head: () => store.headPosition(),
        page: (after, maxCount) => store.readAll({ ...(after !== undefined ? { after } : {}), maxCount }),
      },
      close: () => store.close(),
    };
  }
  const file = join(config.dataDir, 'events.db');
  if (!existsSync(file))
    throw new Error(`${file} does not exist: nothing to rebuild from (DATA_DIR=${config.dataDir})`);
  const reader = new SqliteLogReader(file, config.storeTimeoutMs);
  return {
    source: { kind: 'sqlite', file, head: () => reader.head() },
    close: async () => reader.close(),
  };
}

const { source, close } = await openSource();
const bar = process.stderr.isTTY
  ? new SingleBar({
      format: 'views:rebuild [{bar}] {percentage}% | position {value}/{total} | {rate} events/s | eta {eta_formatted}',
      stream: process.stderr,
    })
  : undefined;
let lastLine = 0;
try {
  const result = await rebuildViews(source, target, ({ position, head, events, seconds }) => {
    const rate = Math.round(events / Math.max(seconds, 1e-3));
    if (bar) {
      if (!bar.isActive) bar.start(Number(head), 0, { rate });
      bar.update(Number(position), { rate });
    } else if (seconds - lastLine >= 1 || position === head) {
      // Not a terminal (CI, a pipe): one progress line a second.
      lastLine = seconds;
      process.stderr.write(`views:rebuild position ${position}/${head}, ${rate} events/s\n`);
    }
  });
  bar?.stop();
  const rate = Math.round(result.events / Math.max(result.seconds, 1e-3));
  process.stdout.write(
    `rebuilt ${target} from position 0 to ${result.head}: ${result.events} events in ${result.seconds.toFixed(2)} s (${rate} events/s)\n`,
  );
} finally {
  bar?.stop();
  await close();
}
