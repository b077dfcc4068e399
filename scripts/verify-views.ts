/**
 * npm run views:verify — is the live view faithful to the log? Replays the log into a scratch view (the same
 * projections, up to the live view's checkpoint), compares it with DATA_DIR/views.v<schema version>.db row by row (contacts and
 * history), prints `identical` or each difference, and exits 1 on a difference (2 when it could not verify).
 * Reads the log and the live view only: safe while the service runs.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadToolConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { sharedEventStore } from '../apps/orchestrator/src/infrastructure/event-store.provider.js';
import { compareViews, liveCheckpoint, rebuildViews, viewsFileIn, type RebuildSource } from '#projections';

const config = loadToolConfiguration(process.env);
const viewsFile = viewsFileIn(config.dataDir);

async function openSource(upTo: bigint): Promise<{ source: RebuildSource; close: () => Promise<void> }> {
  if (config.eventStore !== 'sqlite') {
    const store = await sharedEventStore(config);
    return {
      source: {
        kind: 'pages',
        head: async () => upTo,
        page: (after, maxCount) => store.readAll({ ...(after !== undefined ? { after } : {}), maxCount }),
      },
      close: () => store.close(),
    };
  }
  const file = join(config.dataDir, 'events.db');
  if (!existsSync(file)) throw new Error(`${file} does not exist (DATA_DIR=${config.dataDir})`);
  return { source: { kind: 'sqlite', file, head: async () => upTo }, close: async () => undefined };
}

try {
  if (!existsSync(viewsFile)) throw new Error(`${viewsFile} does not exist (DATA_DIR=${config.dataDir})`);
  const upTo = liveCheckpoint(viewsFile);
  const scratch = mkdtempSync(join(tmpdir(), 'co-views-verify-'));
  const { source, close } = await openSource(upTo);
  try {
    const replay = join(scratch, 'views.db');
    await rebuildViews(source, replay);
    const result = compareViews(viewsFile, replay, upTo);
    if (result.differences.length === 0) {
      process.stdout.write(
        `identical: ${result.contacts} contacts and ${result.historyEntries} history entries up to position ${upTo}\n`,
      );
    } else {
      for (const d of result.differences) process.stdout.write(`contact ${d.contactId}: ${d.what}\n`);
      process.stdout.write(
        `${result.differences.length} difference(s) between ${viewsFile} and the log up to position ${upTo}\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    await close();
    rmSync(scratch, { recursive: true, force: true });
  }
} catch (error) {
  process.stderr.write(`views:verify: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
