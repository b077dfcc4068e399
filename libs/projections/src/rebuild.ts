/**
 * Offline rebuild: replays the whole log from position 0 into a fresh views database beside the live one, then
 * swaps it in with a rename, so a reader never sees a half-built view.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { EventStore } from '../../event-store/src/index.js';
import { contactViewProjection } from './contact-view.js';
import { directoryViewProjection } from './directory-view.js';
import { SubscriptionRunner, type RunnerLogger } from './subscription-runner.js';
import { openViewsDatabase } from './views-database.js';

export type RebuildProgress = { projection: string; position: bigint; head: bigint };

export async function rebuildViews(
  store: EventStore,
  target: string,
  logger: RunnerLogger,
  onProgress: (progress: RebuildProgress) => void = () => {},
): Promise<{ head: bigint; events: number }> {
  const scratch = `${target}.rebuild`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${scratch}${suffix}`, { force: true });
  const db = openViewsDatabase(scratch);
  const head = (await store.headPosition()) ?? 0n;
  let events = 0;
  try {
    for (const projection of [contactViewProjection, directoryViewProjection] as const) {
      const runner = new SubscriptionRunner<unknown>(store, db, projection, logger);
      runner.start();
      let last = -1n;
      while ((runner.checkpoint ?? 0n) < head) {
        await runner.waitFor(head, 1_000);
        const position = runner.checkpoint ?? 0n;
        if (position !== last) onProgress({ projection: projection.name, position, head });
        last = position;
        if (runner.error) throw new Error(`projection ${projection.name} failed: ${runner.error}`);
      }
      await runner.stop();
    }
    events = Number(db.prepare('SELECT COUNT(*) AS n FROM contact_history').pluck().get() ?? 0);
  } finally {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
  for (const suffix of ['-wal', '-shm']) if (existsSync(`${target}${suffix}`)) rmSync(`${target}${suffix}`);
  renameSync(scratch, target);
  for (const suffix of ['-wal', '-shm']) rmSync(`${scratch}${suffix}`, { force: true });
  return { head, events };
}
