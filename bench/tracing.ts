/**
 * npm run bench:tracing — what traces cost EndContact: durable EndContact over HTTP with tracing on (the SDK loaded,
 * `parentbased_traceidratio` at 0.1, spans exported over OTLP to a real receiver, Jaeger from scripts/otel/jaeger.sh)
 * against tracing off (no OTLP endpoint: no SDK), in the same run, as `npm run bench`'s HTTP row measures (64
 * autocannon connections, each request ending a distinct contact registered beforehand, an untimed warm-up of
 * 40,000 ends on each service once both are registered).
 * Services run in pairs, one traced and one not, side by side, taking turns: short windows, off then on, then on
 * then off, and so on, so that the machine's drift (this one shares its host: rounds of several seconds moved by
 * 20 % from one to the next) weighs on both alike; and several pairs, started in turn in either order, so that what
 * one process draws (a service's rate differs by up to 10 % from one start to the next) weighs on neither. Prints
 * one table row. BENCH_TRACING_PAIRS (3), BENCH_TRACING_WINDOWS (4 of each service per pair),
 * BENCH_TRACING_SECONDS (2 per window), BENCH_TRACING_CONTACTS (120,000 per service), BENCH_CONNECTIONS (64); BENCH_TRACING_SAMPLER and BENCH_TRACING_SAMPLER_ARG replace the traced
 * service's sampler (parentbased_traceidratio, 0.1) to see what a part costs (always_off: the SDK with nothing
 * sampled).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startJaeger, type Jaeger } from '../test/harness/jaeger.js';
import { endContacts } from './http-load.js';
import { answersOtherThan } from './load-generator.js';
import { contactIds, registerContacts, settle, startService, type ServiceUnderTest } from './service-setup.js';
import { cleanUpEverything, defer, formatInt, progress } from './support.js';
import { ratioRow, renderTable, row, type Row } from './table.js';

const PAIRS = Number(process.env['BENCH_TRACING_PAIRS'] ?? 3);
const WINDOWS = Number(process.env['BENCH_TRACING_WINDOWS'] ?? 4);
const SECONDS = Number(process.env['BENCH_TRACING_SECONDS'] ?? 2);
const CONTACTS = Number(process.env['BENCH_TRACING_CONTACTS'] ?? 120_000);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 64);
const SAMPLER = process.env['BENCH_TRACING_SAMPLER'] ?? 'parentbased_traceidratio';
const SAMPLER_ARG = process.env['BENCH_TRACING_SAMPLER_ARG'] ?? '0.1';
/** Untimed ends on each service once both are registered: the JIT and the heap settle after the registration. */
const WARM_UP_ENDS = 40_000;
const MIN_RATIO = 0.9;
const FIGURE =
  SAMPLER === 'parentbased_traceidratio' && SAMPLER_ARG === '0.1'
    ? 'EndContact over HTTP, tracing on (10% sampled, OTLP to Jaeger)'
    : `EndContact over HTTP, tracing on (OTEL_TRACES_SAMPLER=${SAMPLER}, ARG ${SAMPLER_ARG}, OTLP to Jaeger)`;

type Mode = 'off' | 'on';
type Window = { mode: Mode; ok: number; other: number; seconds: number; receiverCpu: number; serviceCpu: number };
type Contender = { mode: Mode; target: ServiceUnderTest; ids: string[]; next: number };

/** CPU seconds a process has used (user + system), from /proc; 0 when it cannot be read. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function envOf(mode: Mode, jaeger: Jaeger): Record<string, string> {
  if (mode === 'off') return {};
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
    OTEL_TRACES_SAMPLER: SAMPLER,
    OTEL_TRACES_SAMPLER_ARG: SAMPLER_ARG,
  };
}

/** A service of the given mode, its contacts registered (the warm-up's first). */
async function contender(mode: Mode, jaeger: Jaeger, base: number): Promise<Contender> {
  progress(`tracing ${mode}: starting the service, registering ${formatInt(CONTACTS + WARM_UP_ENDS)} contacts`);
  const target = await startService(envOf(mode, jaeger));
  const ids = contactIds(WARM_UP_ENDS + CONTACTS, base);
  await registerContacts(target, ids, CONNECTIONS);
  return { mode, target, ids, next: 0 };
}

/** The untimed warm-up, once both services are registered: WARM_UP_ENDS ends, then its views caught up. */
async function warmUp(contender: Contender): Promise<void> {
  progress(`tracing ${contender.mode}: warm-up, ${formatInt(WARM_UP_ENDS)} ends`);
  const end = await endContacts(contender.target, contender.ids.slice(0, WARM_UP_ENDS), CONNECTIONS, 60);
  contender.next = end.sent;
  await settle(contender.target);
}

/** One window of EndContact on one service, with the contacts it has not ended yet; its views caught up after. */
async function window(contender: Contender, jaeger: Jaeger): Promise<Window> {
  const { target } = contender;
  const ids = contender.ids.slice(contender.next);
  if (ids.length < CONNECTIONS) throw new Error(`tracing ${contender.mode}: out of contacts (BENCH_TRACING_CONTACTS)`);
  const cpuBefore = cpuSeconds(jaeger.pid);
  const serviceCpuBefore = cpuSeconds(target.service.child.pid);
  const end = await endContacts(target, ids, CONNECTIONS, SECONDS);
  const window: Window = {
    mode: contender.mode,
    serviceCpu: cpuSeconds(target.service.child.pid) - serviceCpuBefore,
    ok: end.statuses['200'] ?? 0,
    other: answersOtherThan(end, 200),
    seconds: end.seconds,
    receiverCpu: cpuSeconds(jaeger.pid) - cpuBefore,
  };
  // Every request set up took a contact, answered or not.
  contender.next += end.sent;
  progress(
    `tracing ${contender.mode}: ${formatInt(window.ok / window.seconds)} ok/s, ` +
      `service CPU ${((window.serviceCpu / window.ok) * 1e6).toFixed(0)} µs an end`,
  );
  await settle(target);
  return window;
}

/** One pair: both services registered (in the pair's order), warmed up, then WINDOWS turns each; both stopped. */
async function measurePair(pair: number, jaeger: Jaeger): Promise<Window[]> {
  const contenders: Contender[] = [];
  try {
    const base = 6_000_000_000 + pair * 10_000_000;
    for (const mode of pair % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const))
      contenders.push(await contender(mode, jaeger, base + (mode === 'on' ? 5_000_000 : 0)));
    for (const each of contenders) await warmUp(each);
    progress(`pair ${pair + 1} of ${PAIRS}: ${WINDOWS} windows of ${SECONDS} s on each service, in turns`);
    const [first, second] = contenders as [Contender, Contender];
    const windows: Window[] = [];
    for (let i = 0; i < WINDOWS; i++)
      for (const turn of i % 2 === 0 ? [first, second] : [second, first]) windows.push(await window(turn, jaeger));
    return windows;
  } finally {
    for (const { target } of contenders) await target.stop();
  }
}

/** Traces Jaeger holds of the service: the "on" windows must have exported some, or the row measured nothing. */
async function tracesIn(jaeger: Jaeger): Promise<number> {
  const url = `${jaeger.queryUrl}/api/traces?service=contact-orchestrator&limit=100000&lookback=1h`;
  const body = (await (await fetch(url)).json()) as { data?: unknown[] };
  return body.data?.length ?? 0;
}

async function main(): Promise<Row[]> {
  progress('starting Jaeger (scripts/otel/jaeger.sh builds it once)');
  // The receiver shares these cores with the service and the load generator; in production a collector runs
  // elsewhere. At nice 19 it takes only the CPU the two leave, so the figure is what tracing costs the service; the
  // CPU it used during the measured load is printed beside it.
  const jaeger = await startJaeger(undefined, { nice: 19 });
  const stopJaeger = defer(() => jaeger.stop());
  const windows: Window[] = [];
  try {
    for (let pair = 0; pair < PAIRS; pair++) windows.push(...(await measurePair(pair, jaeger)));
    const rate = (mode: Mode) => {
      const of = windows.filter((w) => w.mode === mode);
      const ok = of.reduce((sum, w) => sum + w.ok, 0);
      const seconds = of.reduce((sum, w) => sum + w.seconds, 0);
      const each = of.map((w) => w.ok / w.seconds);
      // The service's CPU (all its threads) per answered end: steadier than the rate on a shared machine.
      const cpuPerEnd = (of.reduce((sum, w) => sum + w.serviceCpu, 0) / ok) * 1e6;
      return {
        perSecond: ok / seconds,
        range: `windows ${formatInt(Math.min(...each))} to ${formatInt(Math.max(...each))}`,
        cpuPerEnd,
      };
    };
    const on = rate('on');
    const off = rate('off');
    const traces = await tracesIn(jaeger);
    const other = windows.reduce((sum, w) => sum + w.other, 0);
    const receiverCpu = windows.filter((w) => w.mode === 'on').reduce((sum, w) => sum + w.receiverCpu, 0);
    const onSeconds = windows.filter((w) => w.mode === 'on').reduce((sum, w) => sum + w.seconds, 0);
    const samplesNothing = SAMPLER.endsWith('always_off');
    if (traces === 0 && !samplesNothing)
      return [row(FIGURE, 'no trace reached Jaeger: tracing was not on', `≥ ${MIN_RATIO}×`, 'failed')];
    return [
      ratioRow(
        `${FIGURE} (${CONNECTIONS} connections)`,
        `${formatInt(on.perSecond)} ok/s (${on.range}; service CPU ${on.cpuPerEnd.toFixed(0)} µs an end; ${formatInt(traces)} traces in Jaeger; ${formatInt(other)} non-200 in all windows; Jaeger at nice 19 used ${(receiverCpu / onSeconds).toFixed(2)} CPU-s/s meanwhile)`,
        on.perSecond,
        `tracing off (no SDK loaded): ${formatInt(off.perSecond)} ok/s (${off.range}; service CPU ${off.cpuPerEnd.toFixed(0)} µs an end)`,
        off.perSecond,
        MIN_RATIO,
      ),
    ];
  } finally {
    await stopJaeger();
  }
}

try {
  const started = new Date();
  const rows = await main();
  process.stdout.write(
    `contact-orchestrator bench:tracing, ${started.toISOString()}, ${cpus().length} cores, Node ${process.version}, ` +
      `${PAIRS} pairs of services, ${WINDOWS} windows of ${SECONDS} s on each service of a pair, in turns\n\n${renderTable(rows)}\n`,
  );
} catch (error) {
  progress(`bench:tracing failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUpEverything();
}
