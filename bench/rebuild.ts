/**
 * Row 4: the offline rebuild (`node dist/scripts/rebuild-views.js`, what `npm run views:rebuild` runs) of a log
 * the bench writes itself, timed from outside as the wall time of the child process, start-up included.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteEventStore } from '#event-store';
import type { BenchOptions } from './options.js';
import { realisticLog, type LogEvent } from './event-log.js';
import { defer, formatInt, progress, tempDir } from './support.js';
import { row, verdict, type Row } from './table.js';

export const REBUILD_FIGURES = [{ figure: 'rebuild of a generated log', target: '≥ 200,000 events/s' }] as const;
const MIN_EVENTS_PER_SECOND = 200_000;
const REBUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../scripts/rebuild-views.js');
const ROWS_PER_TRANSACTION = 50_000;

/**
 * Writes `count` events straight into DATA_DIR/events.db, in big transactions (this is set-up, not measured): the
 * realistic log by default, or the first `count` of `events` (the soak's directory and active contacts).
 */
export async function writeLog(
  file: string,
  count: number,
  events: Iterable<LogEvent> = realisticLog(count),
  what = 'log',
): Promise<void> {
  // The store creates the schema, so the rows land in exactly the table it reads.
  await new SqliteEventStore(file).close();
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    // A big page cache: the unique indexes on random event IDs otherwise thrash it on a million rows.
    db.pragma('cache_size = -262144');
    const insert = db.prepare(
      'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const insertMany = db.transaction((rows: unknown[][]) => {
      for (const r of rows) insert.run(...r);
    });
    let rows: unknown[][] = [];
    let written = 0;
    let reported = performance.now();
    for (const e of events) {
      if (written + rows.length >= count) break;
      rows.push([
        e.id,
        e.streamId,
        e.revision,
        e.type,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata),
        e.recordedAt,
      ]);
      if (rows.length < ROWS_PER_TRANSACTION) continue;
      insertMany(rows);
      written += rows.length;
      rows = [];
      // Between transactions the event loop runs: Ctrl-C (SIGINT) and the bench's timeout can stop a long write.
      await new Promise((resolve) => setImmediate(resolve));
      if (performance.now() - reported > 5_000) {
        progress(`${what}: ${formatInt(written)}/${formatInt(count)} events written`);
        reported = performance.now();
      }
    }
    insertMany(rows);
    // Hand the rebuild a checkpointed file, not a large WAL to replay first.
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** Runs the rebuild script on `dataDir`; resolves with its wall time in seconds, rejects on failure or timeout. */
export function runRebuild(
  dataDir: string,
  timeoutSeconds: number,
  target?: string,
): Promise<{ seconds: number; said: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, [REBUILD_SCRIPT, ...(target !== undefined ? [target] : [])], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = defer(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  let stdout = '';
  let stderr = '';
  // Only the tail matters (its progress line rewrites itself with \r); keep memory flat whatever it prints.
  child.stdout.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-4_000)));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill();
      reject(new Error(`rebuild-views did not finish within ${timeoutSeconds} s (BENCH_REBUILD_TIMEOUT_SECONDS)`));
    }, timeoutSeconds * 1_000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const seconds = (performance.now() - started) / 1000;
      clearTimeout(timer);
      void kill();
      if (code === 0) resolve({ seconds, said: stdout.trim().split('\n').pop() ?? '' });
      else
        reject(
          new Error(
            `rebuild-views exited with ${code ?? signal}: ${stderr.split('\r').pop()?.trim() ?? ''} ${stdout.trim()}`,
          ),
        );
    });
  });
}

export async function measureRebuild(options: BenchOptions['rebuild']): Promise<Row[]> {
  const { dir, remove } = tempDir('co-bench-rebuild-');
  try {
    if (!existsSync(REBUILD_SCRIPT)) throw new Error(`${REBUILD_SCRIPT} is missing: run \`npm run build\` first`);
    progress(`rebuild: writing a ${formatInt(options.events)}-event log`);
    const writing = performance.now();
    await writeLog(join(dir, 'events.db'), options.events, realisticLog(options.events), 'rebuild');
    progress(`rebuild: log written in ${((performance.now() - writing) / 1000).toFixed(1)} s; running rebuild-views`);
    const { seconds, said } = await runRebuild(dir, options.timeoutSeconds);
    if (said) progress(`rebuild: ${said}`);
    const perSecond = options.events / seconds;
    return [
      row(
        `rebuild of a ${formatInt(options.events)}-event log`,
        `${formatInt(perSecond)} events/s (${seconds.toFixed(2)} s wall, child process incl. start-up)`,
        REBUILD_FIGURES[0].target,
        verdict(perSecond >= MIN_EVENTS_PER_SECOND),
      ),
    ];
  } finally {
    await remove();
  }
}
