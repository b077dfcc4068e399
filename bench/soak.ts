/**
 * Soak row: memory without a cliff. The service (its own process, the flags of npm start and the image) on a log of
 * 1,000,000 active contacts across 10,000 agents, holding at once: keyed bulk ends of unknown IDs (more answers to
 * remember than it keeps), audit exports read slowly or not at all (two per credential: the platform token's of the
 * whole log, Audit.Read agents' of their unit; the service admits what its caps allow), and event streams of one
 * business unit (half of them never read) while its contacts are ended one by one. Its RSS is sampled throughout;
 * the row says whether it stayed up (alive, /health answering 200 at the end) and its peak, or how it died.
 */
import { join } from 'node:path';
import { sleep } from '#runtime';
import { OrchestratorClient } from '../test/harness/client.js';
import { startServiceProcess, type ServiceProcess } from '../test/harness/service.js';
import { activeContactsLog } from './event-log.js';
import type { BenchOptions } from './options.js';
import { memoryOf, mb, sampleRss } from './process-probe.js';
import { writeLog } from './rebuild.js';
import { holdGets, paceEnds, scrape, sendBatches } from './soak-clients.js';
import { BENCH_SERVICE_ENV, caughtUp } from './service-setup.js';
import { defer, formatInt, formatMs, progress, tempDir } from './support.js';
import type { Row } from './table.js';

export const SOAK_FIGURES = [
  { figure: 'soak: the service under everything at once', target: 'stays up; RSS reported' },
] as const;
const HTTP_RSS_TARGET_BYTES = 250 * 1024 * 1024;
const AGENTS_PER_UNIT = 100;
const FIRST_CONTACT = 3_000_000_000;
const UNKNOWN_IDS = 9_000_000_000_000_000;

type Death = { code: number | null; signal: NodeJS.Signals | null; afterSeconds: number };

/** The soak's log: one profile, the agents, then the active contacts (see activeContactsLog). */
async function soakLog(dir: string, o: BenchOptions['soak'], units: number): Promise<void> {
  const count = 1 + o.agents + o.contacts;
  progress(
    `soak: writing ${formatInt(o.contacts)} active contacts across ${formatInt(o.agents)} agents in ${units} business units (${formatInt(count)} events)`,
  );
  const started = performance.now();
  await writeLog(join(dir, 'events.db'), count, activeContactsLog(o.contacts, o.agents, units, FIRST_CONTACT), 'soak');
  progress(`soak: log written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** SecurityUsers of the first `count` agents of business unit `unit` (agent i is in unit i % units). */
async function tokensOf(api: OrchestratorClient, unit: number, units: number, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let k = 0; k < count; k++) tokens.push(await api.securityUser(`agent-${unit + k * units}`));
  return tokens;
}

export async function measureSoak(o: BenchOptions['soak'], httpRss: string | undefined): Promise<Row[]> {
  const units = Math.max(2, Math.floor(o.agents / AGENTS_PER_UNIT));
  const { dir, remove } = tempDir('co-bench-soak-');
  try {
    await soakLog(dir, o, units);
    const spawned = performance.now();
    const service = await startServiceProcess({
      dataDir: dir,
      // Each scrape (one a second) reads the event loop of the last complete second and the current one.
      env: { ...BENCH_SERVICE_ENV, METRICS_LOOP_WINDOW_SECONDS: '1' },
      // As the HTTP rows: BENCH_CPU_PROF_DIR=dir has the service write a V8 CPU profile there when it stops.
      ...(process.env.BENCH_CPU_PROF_DIR
        ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] }
        : {}),
    });
    const stop = defer(async () => void (await service.stop()));
    try {
      let death: Death | undefined;
      service.child.once(
        'exit',
        (code, signal) => (death = { code, signal, afterSeconds: (performance.now() - spawned) / 1000 }),
      );
      progress('soak: waiting for the views to catch up with the log');
      const catchUp = await caughtUp(service, o.timeoutSeconds * 1_000, () => death !== undefined, 500);
      const pid = service.child.pid!;
      await sleep(2_000);
      const idle = memoryOf(pid)?.rss ?? Number.NaN;
      progress(`soak: views caught up in ${catchUp.toFixed(1)} s; idle RSS ${mb(idle)}`);
      const held = await underLoad(service, o, units, () => death);
      const up = death === undefined && service.child.exitCode === null && service.child.signalCode === null;
      const health = up ? await healthAtTheEnd(service) : 'not asked (the process is gone)';
      const peakHwm = memoryOf(pid)?.peak ?? Number.NaN;
      const exit = up ? await stop().then(() => service.child.exitCode) : undefined;
      if (exit !== undefined && exit !== 0)
        progress(`soak: the graceful stop exited with ${exit}: ${service.output().slice(-1_500)}`);
      const stayedUp = up && health.startsWith('200');
      const peak = Math.max(held.peakRss, Number.isFinite(peakHwm) ? peakHwm : 0);
      const status = stayedUp
        ? `stayed up (GET /health ${health}; SIGTERM then exited ${exit ?? '?'})`
        : death
          ? `DIED: ${death.signal ? `signal ${death.signal}` : `exit code ${death.code}`} ${death.afterSeconds.toFixed(0)} s after spawn; last output: ${lastLine(service.output())}`
          : `did not stay up: GET /health ${health}`;
      if (!stayedUp) progress(`soak: the service's last output:\n${service.output().slice(-4_000)}`);
      return [
        {
          figure: `soak: ${formatInt(o.contacts)} active contacts, ${formatInt(o.batches)} keyed bulk answers of ${formatInt(o.batchSize)}, ${o.exports} slow exports, ${o.streams} event streams`,
          measured: `${status}; peak RSS ${mb(peak)} (VmHWM ${Number.isFinite(peakHwm) ? mb(peakHwm) : 'n/a'}, idle ${mb(idle)} after the catch-up of ${catchUp.toFixed(0)} s), heap used ≤ ${Number.isFinite(held.peakHeap) ? mb(held.peakHeap) : 'n/a'} (of 160 MB); ${held.summary}`,
          comparedWith:
            httpRss !== undefined
              ? `service RSS under the HTTP load: ${httpRss}`
              : 'service RSS under the HTTP load: target ≤ 250 MB (not run here)',
          ratio: `${(peak / HTTP_RSS_TARGET_BYTES).toFixed(2)}× of 250 MB`,
          target: SOAK_FIGURES[0].target,
          result: stayedUp ? 'met' : 'not met',
        },
      ];
    } finally {
      await stop();
    }
  } finally {
    await remove();
  }
}

/** Opens everything, sends the batches, holds; resolves with what was seen (also when the service dies). */
async function underLoad(
  service: ServiceProcess,
  o: BenchOptions['soak'],
  units: number,
  died: () => Death | undefined,
): Promise<{ peakRss: number; peakHeap: number; summary: string }> {
  const api = new OrchestratorClient(service.url, service.platformToken);
  progress(
    `soak: SecurityUsers for ${AGENTS_PER_UNIT} agents of bu-0 (streams, ends) and of bu-1 (batches), and auditors of bu-${units - 1} (exports)`,
  );
  const readers = await tokensOf(api, 0, units, AGENTS_PER_UNIT);
  const enders = await tokensOf(api, 1, units, AGENTS_PER_UNIT);
  // Two exports per credential (AUDIT_EXPORTS_PER_CREDENTIAL's default): the platform token's (the whole log), then
  // agents with Audit.Read (their business unit's events); the service admits what AUDIT_EXPORTS_AT_ONCE allows.
  const auditors = [
    service.platformToken,
    ...(await tokensOf(api, units - 1, units, Math.min(AGENTS_PER_UNIT, Math.ceil(o.exports / 2) - 1))),
  ];
  const pid = service.child.pid!;
  const rss = sampleRss(pid, 200);
  // One scrape a second: the heap's peak, and the event loop's worst second (p99 and max of the last complete second
  // and the current one: the service's METRICS_LOOP_WINDOW_SECONDS=1, so overlapping windows of 1 to 2 s).
  const peaks = { heap: 0, loopP99: 0, loopMax: 0, scrapes: 0, unanswered: 0 };
  const heapTimer = setInterval(
    () =>
      void scrape(service).then((m) => {
        peaks.scrapes++;
        if (!m) return void peaks.unanswered++;
        peaks.heap = Math.max(peaks.heap, m.heapUsed || 0);
        peaks.loopP99 = Math.max(peaks.loopP99, m.loopP99 || 0);
        peaks.loopMax = Math.max(peaks.loopMax, m.loopMax || 0);
        if (m.loopMax >= 1)
          progress(
            `soak: ${seconds()} s: the event loop was blocked ${formatMs(m.loopMax * 1000)} in the last 1 to 2 s`,
          );
      }),
    1_000,
  );
  const started = performance.now();
  const seconds = (): string => ((performance.now() - started) / 1000).toFixed(0);
  // Half of each kind of long-lived client never reads; the other half reads (exports slowly, streams fully).
  const streams = holdGets(
    service.url,
    '/v1/contacts/stream',
    o.streams,
    (i) => readers[i % readers.length]!,
    (i) => (i % 2 === 0 ? { kind: 'all' } : { kind: 'none' }),
    'event: contact',
  );
  const exports = holdGets(
    service.url,
    '/v1/audit/events',
    o.exports,
    (i) => auditors[Math.floor(i / 2) % auditors.length]!,
    (i) => (i % 2 === 0 ? { kind: 'rate', bytesPerSecond: o.exportReadKBps * 1024 } : { kind: 'none' }),
  );
  const unitZero = Array.from({ length: Math.ceil(o.contacts / units) }, (_, k) => String(FIRST_CONTACT + k * units));
  const ends = paceEnds(service.url, unitZero, o.endsPerSecond, readers[0]!);
  const batches = sendBatches(
    service.url,
    o.batches,
    o.batchSize,
    o.batchesInFlight,
    (b) => enders[b % enders.length]!,
    (b) => Array.from({ length: o.batchSize }, (_, i) => String(UNKNOWN_IDS + b * o.batchSize + i)),
  );
  const report = (): void =>
    progress(
      `soak: ${seconds()} s: RSS ${mb(memoryOf(pid)?.rss ?? Number.NaN)}, heap used ≤ ${mb(peaks.heap)}, event-loop p99 ≤ ${formatMs(peaks.loopP99 * 1000)}; batches ${batches.answered}/${o.batches}; exports open ${exports.open} (${mb(exports.bytes)} read); streams open ${streams.open} (${formatInt(streams.counted)} events); ends ${formatInt(ends.sent)}`,
    );
  const reporter = setInterval(report, 10_000);
  let answered = false;
  let batchSeconds = '';
  void batches.done.then(() => ((answered = true), (batchSeconds = seconds())));
  const deadline = started + o.timeoutSeconds * 1_000;
  /** Polls until `done()`, the service dies, or `until` (ms, performance.now()) passes. */
  const waitFor = async (done: () => boolean, until: number): Promise<'done' | 'died' | 'time'> => {
    for (;;) {
      if (died()) return 'died';
      if (done()) return 'done';
      if (performance.now() >= until) return 'time';
      await sleep(200);
    }
  };
  let outcome: 'done' | 'died' | 'time' = 'time';
  try {
    outcome = await waitFor(() => answered, deadline);
    if (outcome === 'done') {
      progress(`soak: every batch answered after ${seconds()} s; holding everything open ${o.holdSeconds} s more`);
      const holdUntil = performance.now() + o.holdSeconds * 1_000;
      outcome = await waitFor(() => false, Math.min(holdUntil, deadline));
      if (outcome === 'time' && holdUntil <= deadline) outcome = 'done';
    }
    if (outcome === 'time') progress(`soak: stopped by BENCH_SOAK_TIMEOUT_SECONDS (${o.timeoutSeconds} s)`);
    report();
  } finally {
    clearInterval(reporter);
    clearInterval(heapTimer);
    for (const client of [batches, exports, streams, ends]) client.stop();
  }
  const summary = [
    `${batches.asExpected}/${o.batches} batches answered as expected (${batches.answered} answered${answered ? ` in ${batchSeconds} s` : ''})${batches.unexpected.length > 0 ? ` [${batches.unexpected[0]}]` : ''}`,
    outcome === 'time' ? `stopped by BENCH_SOAK_TIMEOUT_SECONDS after ${seconds()} s` : `held ${seconds()} s in all`,
    // A client that never reads cannot see the server close its connection: only the reading half's closes count.
    `exports: ${o.exports} asked by ${Math.min(auditors.length, Math.ceil(o.exports / 2))} credentials, ${exports.opened} admitted in all (${exports.maxOpen} open at once as the clients saw it: one that never reads does not see its export end), ${exports.statuses['429'] ?? 0} refused 429 (half read at ${o.exportReadKBps} KB/s, half never; ${exports.closed} reading ones closed by the server), ${mb(exports.bytes)} read`,
    `streams: ${streams.opened} opened (half read, half never; ${streams.closed} reading ones closed by the server), ${formatInt(streams.counted)} events read`,
    `event loop: worst second's p99 ${formatMs(peaks.loopP99 * 1000)}, max ${formatMs(peaks.loopMax * 1000)}${peaks.unanswered > 0 ? ` (GET /metrics unanswered within 5 s ${peaks.unanswered} times of ${peaks.scrapes})` : ''}`,
    `${formatInt(ends.sent)} single ends (${JSON.stringify(ends.statuses)})`,
  ].join('; ');
  progress(`soak: ${summary}`);
  return { peakRss: rss.stop(), peakHeap: peaks.scrapes > peaks.unanswered ? peaks.heap : Number.NaN, summary };
}

/** `200` or the status, with the views' catch-up state (the details: platform token); the reason when it does not answer within 10 s. */
async function healthAtTheEnd(service: ServiceProcess): Promise<string> {
  try {
    const response = await fetch(`${service.url}/health`, {
      headers: { authorization: `Bearer ${service.platformToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as { details?: Record<string, { caughtUp?: boolean }> };
    const behind = Object.entries(body.details ?? {})
      .filter(([, check]) => check.caughtUp === false)
      .map(([name]) => name);
    return `${response.status}${behind.length > 0 ? `, ${behind.join(', ')} not caught up` : ', views caught up'}`;
  } catch (error) {
    return `no answer: ${(error as Error).message}`;
  }
}

/** The line saying why (V8's FATAL ERROR, an error), else the last one. */
function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  const newestFirst = [...lines].reverse();
  const why = newestFirst.find((line) => line.includes('FATAL')) ?? newestFirst.find((line) => /Error/.test(line));
  return (why ?? lines.pop() ?? '').slice(0, 200) || '(none)';
}
