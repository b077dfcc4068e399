/**
 * Rows 1, 2 and 6: durable EndContact over HTTP against a bare Fastify POST route (same load generator, same
 * connections, same duration, each server in its own process), the service's event-loop delay p99 during that
 * load (from its /metrics), and the service's resident memory under it (from /proc).
 */
import type { BenchOptions } from './options.js';
import { memoryOf, mb, sampleRss, scrapeEventLoopP99 } from './process-probe.js';
import { answersOtherThan, runLoad, startBareRoute, type LoadResult } from './load-generator.js';
import { contactIds, registerContacts, settle, startService, type ServiceUnderTest } from './service-setup.js';
import { formatInt, formatMs, progress } from './support.js';
import { ratioRow, row, verdict, type Row } from './table.js';

export const HTTP_FIGURES = [
  { figure: 'durable EndContact over HTTP', target: '≥ 0.30×' },
  { figure: 'EndContact latency p99, same load', target: '≤ 20 ms' },
  { figure: 'event-loop delay p99 during that load', target: '≤ 10 ms' },
  { figure: 'service RSS under the HTTP load', target: '≤ 250 MB' },
] as const;

const MIN_RATIO = 0.3;
const MAX_P99_MS = 20;
const MAX_LOOP_P99_MS = 10;
const MAX_RSS_BYTES = 250 * 1024 * 1024;
// Each server gets an untimed warm-up on its measured route (JIT, pools, caches) before its timed run.
const WARM_UP_ENDS = 1_000;
const BARE_WARM_UP_SECONDS = 1;

type Measured = { end: LoadResult; loopP99Ms: number | string; peak: number; maxRss: number; contacts: number };

/** The event-loop p99 in ms, or why there is none: a broken /metrics must not cost the other HTTP rows. */
async function eventLoopP99(service: { url: string; platformToken: string }): Promise<number | string> {
  try {
    const seconds = await scrapeEventLoopP99(service);
    return seconds === undefined ? 'n/a (metric missing)' : seconds * 1000;
  } catch (error) {
    return `n/a (GET /metrics: ${(error as Error).message})`;
  }
}

/** Ends each contact once, with `connections` connections, for at most `seconds`. */
export function endContacts(
  target: ServiceUnderTest,
  ids: readonly string[],
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  return runLoad({
    url: target.service.url,
    connections: Math.min(connections, ids.length),
    seconds,
    // Never more requests than contacts: each request ends a distinct active contact.
    maxRequests: ids.length,
    method: 'POST',
    headers: { authorization: `Bearer ${target.securityUser}` },
    request: (i) => ({ path: `/v1/contacts/${ids[i % ids.length]}/end` }),
  });
}

/**
 * The service's event-loop window for a load of `seconds`: its p99 is read once, right after the load, over the last
 * N complete seconds and the current one (1 to 2 s more than N), so N = the load's whole seconds less one keeps the
 * figure within the load (its last N to N+1 seconds; the connections' ramp-up is left out), never the idle set-up
 * before it. A load that ends early (its contacts ran out, said in the row) reaches back before it.
 */
const loopWindowFor = (seconds: number): number => Math.max(1, Math.floor(seconds) - 1);

async function measureService(options: BenchOptions['http']): Promise<Measured> {
  progress('HTTP: starting the service (its own process)');
  const target = await startService({ METRICS_LOOP_WINDOW_SECONDS: String(loopWindowFor(options.seconds)) });
  try {
    const warmUp = contactIds(WARM_UP_ENDS, 6_000_000_000);
    const ids = contactIds(options.contacts, 7_000_000_000);
    progress(`HTTP: registering ${formatInt(ids.length + warmUp.length)} active contacts (one per EndContact)`);
    await registerContacts(target, [...warmUp, ...ids], options.connections);
    // Untimed ends first, as the bare route gets an untimed run: both servers are measured warm.
    await endContacts(target, warmUp, options.connections, 30);
    await settle(target);
    const pid = target.service.child.pid!;
    const rss = sampleRss(pid);
    progress(`HTTP: EndContact, ${options.connections} connections, up to ${options.seconds} s`);
    const end = await endContacts(target, ids, options.connections, options.seconds);
    const maxRss = rss.stop();
    // The p99 during the load: the window (loopWindowFor) covers only its last seconds.
    const loopP99Ms = await eventLoopP99(target.service);
    const peak = memoryOf(pid)?.peak ?? Number.NaN;
    return { end, loopP99Ms, peak, maxRss, contacts: ids.length };
  } finally {
    await target.stop();
  }
}

async function measureBareRoute(options: BenchOptions['http'], seconds: number): Promise<LoadResult> {
  progress(`HTTP: bare Fastify route (its own process), ${options.connections} connections, ${seconds.toFixed(1)} s`);
  const bare = await startBareRoute();
  try {
    const load = (forSeconds: number): Promise<LoadResult> =>
      runLoad({
        url: bare.url,
        connections: options.connections,
        seconds: forSeconds,
        method: 'POST',
        headers: { authorization: 'Bearer bench' },
        request: (i) => ({ path: `/v1/contacts/${7_000_000_000 + i}/end` }),
      });
    await load(BARE_WARM_UP_SECONDS);
    return await load(seconds);
  } finally {
    await bare.stop();
  }
}

export async function measureHttp(options: BenchOptions['http']): Promise<Row[]> {
  const { end, loopP99Ms, peak, maxRss, contacts } = await measureService(options);
  // The baseline runs exactly as long as the service did (shorter than asked when the contacts ran out).
  const bare = await measureBareRoute(options, end.seconds);
  const ok = end.statuses['200'] ?? 0;
  const other = answersOtherThan(end, 200);
  const okPerSecond = ok / end.seconds;
  const barePerSecond = (bare.statuses['200'] ?? 0) / bare.seconds;
  const ranOut =
    ok + other >= contacts && end.seconds < options.seconds - 0.5 ? `; contacts ran out: raise BENCH_CONTACTS` : '';
  return [
    ratioRow(
      `${HTTP_FIGURES[0].figure} (${options.connections} connections)`,
      `${formatInt(okPerSecond)} ok/s (${formatInt(ok)} OK, ${formatInt(other)} other, ${end.seconds.toFixed(1)} s${ranOut})`,
      okPerSecond,
      `bare Fastify POST route: ${formatInt(barePerSecond)} req/s (${formatInt(answersOtherThan(bare, 200))} non-200)`,
      barePerSecond,
      MIN_RATIO,
    ),
    row(
      HTTP_FIGURES[1].figure,
      `p99 ${formatMs(end.p99)} (p50 ${formatMs(end.p50)})`,
      HTTP_FIGURES[1].target,
      verdict(end.p99 <= MAX_P99_MS),
    ),
    typeof loopP99Ms === 'string'
      ? row(HTTP_FIGURES[2].figure, loopP99Ms, HTTP_FIGURES[2].target, 'n/a')
      : row(HTTP_FIGURES[2].figure, formatMs(loopP99Ms), HTTP_FIGURES[2].target, verdict(loopP99Ms <= MAX_LOOP_P99_MS)),
    row(
      HTTP_FIGURES[3].figure,
      `peak ${mb(peak)} (VmHWM; VmRSS max during the ends ${mb(maxRss)})`,
      HTTP_FIGURES[3].target,
      Number.isFinite(peak) ? verdict(peak <= MAX_RSS_BYTES) : 'n/a',
    ),
  ];
}
