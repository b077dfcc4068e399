/**
 * Rows of the cost as the work grows, on one log of BENCH_GROWTH_EVENTS events written by the bench's generator
 * (writeLog, the realistic log): the offline rebuild's rate on it; the service's start-up on it, spawn to listening
 * and to healthy (GET /health 200 with every view caught up), first on a DATA_DIR without views (they replay the
 * whole log) and then, as an operator restarting a running service sees it, after a clean stop with the views
 * built; and EndContact over HTTP on it against a service on an empty log, same load, rounds taken in turn.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { viewsFileIn } from '#projections';
import { startServiceProcess, type ServiceProcess } from '../test/harness/service.js';
import { endContacts } from './http-load.js';
import { answersOtherThan, type LoadResult } from './load-generator.js';
import type { BenchOptions } from './options.js';
import { realisticLog } from './event-log.js';
import { runRebuild, writeLog } from './rebuild.js';
import {
  BENCH_SERVICE_ENV,
  caughtUp,
  contactIds,
  registerContacts,
  startService,
  withDirectory,
  type ServiceUnderTest,
} from './service-setup.js';
import { formatInt, formatMs, progress, tempDir } from './support.js';
import { maxRatioRow, ratioRow, row, verdict, type Row } from './table.js';

export const GROWTH_FIGURES = [
  { figure: 'EndContact on a large log, ok/s', target: '≥ 0.90×' },
  { figure: 'EndContact on a large log, p99', target: '≤ 1.10×' },
  { figure: 'restart to healthy on a large log', target: '≤ 5 s' },
  { figure: 'rebuild of the large log', target: '≥ 200,000 events/s' },
] as const;
const MIN_THROUGHPUT_RATIO = 0.9;
const MAX_P99_RATIO = 1.1;
const MAX_HEALTHY_SECONDS = 5;
const MIN_REBUILD_RATE = 200_000;
const WARM_UP_ENDS = 1_000;

type Start = { service: ServiceProcess; listening: number; healthy: number };

/** Spawns the service on `dataDir`; seconds from spawn to its first HTTP answer and to every view caught up. */
async function timedStart(dataDir: string, platformToken: string, timeoutSeconds: number): Promise<Start> {
  const spawned = performance.now();
  const service = await startServiceProcess({ dataDir, platformToken, env: { ...BENCH_SERVICE_ENV } });
  const listening = (performance.now() - spawned) / 1000;
  try {
    const gone = (): boolean => service.child.exitCode !== null || service.child.signalCode !== null;
    await caughtUp(service, timeoutSeconds * 1_000, gone);
    return { service, listening, healthy: (performance.now() - spawned) / 1000 };
  } catch (error) {
    await service.stop();
    throw new Error(`${(error as Error).message}; output: ${service.output().slice(-1_000)}`);
  }
}

type Round = { okPerSecond: number; p99: number; other: number };

/** One measured round on `target`: register the contacts, let the views catch up, end each once under load. */
async function round(
  target: ServiceUnderTest,
  http: BenchOptions['http'],
  first: number,
  timeoutSeconds: number,
): Promise<Round> {
  const ids = contactIds(http.contacts, first);
  await registerContacts(target, ids, http.connections);
  await caughtUp(target.service, timeoutSeconds * 1_000);
  const end: LoadResult = await endContacts(target, ids, http.connections, http.seconds);
  return { okPerSecond: (end.statuses['200'] ?? 0) / end.seconds, p99: end.p99, other: answersOtherThan(end, 200) };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const list = (values: readonly number[], format: (n: number) => string): string => values.map(format).join(', ');

export async function measureGrowth(o: BenchOptions['growth'], http: BenchOptions['http']): Promise<Row[]> {
  const { dir, remove } = tempDir('co-bench-growth-');
  try {
    progress(`growth: writing a ${formatInt(o.events)}-event log (the bench's realistic log)`);
    const writing = performance.now();
    await writeLog(join(dir, 'events.db'), o.events, realisticLog(o.events), 'growth');
    progress(
      `growth: log written in ${((performance.now() - writing) / 1000).toFixed(1)} s; rebuilding its views offline into a scratch file`,
    );
    // Into a scratch file, so the DATA_DIR still has no views for the first start below.
    const scratch = tempDir('co-bench-growth-views-');
    const rebuild = await runRebuild(dir, o.timeoutSeconds, viewsFileIn(scratch.dir));
    await scratch.remove();
    const rate = o.events / rebuild.seconds;
    progress(`growth: rebuild ${formatInt(rate)} events/s (${rebuild.seconds.toFixed(1)} s wall); ${rebuild.said}`);

    const token = randomBytes(18).toString('base64url');
    progress('growth: first start, no views in DATA_DIR: they replay the whole log');
    const fresh = await timedStart(dir, token, o.timeoutSeconds);
    const freshExit = await fresh.service.stop();
    progress(
      `growth: first start listening ${fresh.listening.toFixed(2)} s, healthy ${fresh.healthy.toFixed(2)} s; stopped (exit ${freshExit})`,
    );
    progress('growth: restart with the views built (SIGTERM, then the same DATA_DIR again)');
    const restart = await timedStart(dir, token, o.timeoutSeconds);
    const large = await withDirectory(restart.service);
    progress(`growth: restart listening ${restart.listening.toFixed(2)} s, healthy ${restart.healthy.toFixed(2)} s`);
    let empty: ServiceUnderTest | undefined;
    try {
      const emptyService = (empty = await startService());
      for (const target of [large, emptyService])
        await endContacts(target, await warmUpIds(target, http), http.connections, 30);
      const onLarge: Round[] = [];
      const onEmpty: Round[] = [];
      for (let r = 0; r < o.rounds; r++) {
        // In turn, and the order swapped each round: the machine's other load falls on both alike.
        const first = 50_000_000_000 + r * http.contacts;
        for (const which of r % 2 === 0 ? (['empty', 'large'] as const) : (['large', 'empty'] as const)) {
          progress(
            `growth: round ${r + 1}/${o.rounds}, ${which} log: ${formatInt(http.contacts)} contacts, ${http.connections} connections, up to ${http.seconds} s`,
          );
          const result = await round(which === 'large' ? large : emptyService, http, first, o.timeoutSeconds);
          (which === 'large' ? onLarge : onEmpty).push(result);
          progress(
            `growth: ${which}: ${formatInt(result.okPerSecond)} ok/s, p99 ${formatMs(result.p99)}, ${result.other} other`,
          );
        }
      }
      const okLarge = median(onLarge.map((r) => r.okPerSecond));
      const okEmpty = median(onEmpty.map((r) => r.okPerSecond));
      const p99Large = median(onLarge.map((r) => r.p99));
      const p99Empty = median(onEmpty.map((r) => r.p99));
      const others = (rounds: Round[]): string =>
        rounds.some((r) => r.other > 0) ? `; ${formatInt(rounds.reduce((n, r) => n + r.other, 0))} non-200` : '';
      const events = formatInt(o.events);
      return [
        ratioRow(
          `EndContact on a ${events}-event log, ok/s (${http.connections} connections, median of ${o.rounds})`,
          `${formatInt(okLarge)} ok/s (rounds: ${list(
            onLarge.map((r) => r.okPerSecond),
            formatInt,
          )}${others(onLarge)})`,
          okLarge,
          `empty log: ${formatInt(okEmpty)} ok/s (rounds: ${list(
            onEmpty.map((r) => r.okPerSecond),
            formatInt,
          )}${others(onEmpty)})`,
          okEmpty,
          MIN_THROUGHPUT_RATIO,
        ),
        maxRatioRow(
          `EndContact on a ${events}-event log, p99 (median of ${o.rounds})`,
          `p99 ${formatMs(p99Large)} (rounds: ${list(
            onLarge.map((r) => r.p99),
            formatMs,
          )})`,
          p99Large,
          `empty log: p99 ${formatMs(p99Empty)} (rounds: ${list(
            onEmpty.map((r) => r.p99),
            formatMs,
          )})`,
          p99Empty,
          MAX_P99_RATIO,
        ),
        {
          ...row(
            `restart to healthy on a ${events}-event log, views built (SIGTERM, start again)`,
            `healthy ${restart.healthy.toFixed(2)} s (listening ${restart.listening.toFixed(2)} s) from spawn`,
            GROWTH_FIGURES[2].target,
            verdict(restart.healthy <= MAX_HEALTHY_SECONDS),
          ),
          comparedWith: `first start, no views (replayed from the log): healthy ${fresh.healthy.toFixed(1)} s (listening ${fresh.listening.toFixed(2)} s)`,
        },
        row(
          `rebuild of a ${events}-event log`,
          `${formatInt(rate)} events/s (${rebuild.seconds.toFixed(1)} s wall, child process incl. start-up)`,
          GROWTH_FIGURES[3].target,
          verdict(rate >= MIN_REBUILD_RATE),
        ),
      ];
    } finally {
      await empty?.stop();
      await large.stop();
    }
  } finally {
    await remove();
  }
}

/** Contacts for the untimed warm-up ends (the same on both services), registered and projected. */
async function warmUpIds(target: ServiceUnderTest, http: BenchOptions['http']): Promise<string[]> {
  const ids = contactIds(WARM_UP_ENDS, 40_000_000_000);
  await registerContacts(target, ids, http.connections);
  return ids;
}
