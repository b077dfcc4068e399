/**
 * npm run bench:tracing — what traces cost EndContact: durable EndContact over HTTP with tracing on (the SDK loaded,
 * `parentbased_traceidratio` at 0.1, spans exported over OTLP to a real receiver, Jaeger from scripts/otel/jaeger.sh)
 * against tracing off (no OTLP endpoint: no SDK), in the same run, as `npm run bench`'s HTTP row measures (64
 * autocannon connections, each request ending a distinct contact registered beforehand, an untimed warm-up). Rounds
 * in the order off, on, on, off… so that a drift of the machine weighs on both alike. Prints one table row.
 * BENCH_TRACING_ROUNDS (2), BENCH_TRACING_SECONDS (5 per round), BENCH_TRACING_CONTACTS (100,000 per round),
 * BENCH_CONNECTIONS (64); BENCH_TRACING_SAMPLER and BENCH_TRACING_SAMPLER_ARG replace the "on" rounds' sampler
 * (parentbased_traceidratio, 0.1) to see what a part costs (always_off: the SDK with nothing sampled).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startJaeger, type Jaeger } from '../test/harness/jaeger.js';
import { endContacts } from './http-load.js';
import { answersOtherThan } from './load-generator.js';
import { contactIds, registerContacts, settle, startService } from './service-setup.js';
import { cleanUpEverything, defer, formatInt, progress } from './support.js';
import { ratioRow, renderTable, row, type Row } from './table.js';

const ROUNDS = Number(process.env['BENCH_TRACING_ROUNDS'] ?? 2);
const SECONDS = Number(process.env['BENCH_TRACING_SECONDS'] ?? 5);
const CONTACTS = Number(process.env['BENCH_TRACING_CONTACTS'] ?? 100_000);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 64);
const SAMPLER = process.env['BENCH_TRACING_SAMPLER'] ?? 'parentbased_traceidratio';
const SAMPLER_ARG = process.env['BENCH_TRACING_SAMPLER_ARG'] ?? '0.1';
const WARM_UP_ENDS = 1_000;
const MIN_RATIO = 0.9;
const FIGURE =
  SAMPLER === 'parentbased_traceidratio' && SAMPLER_ARG === '0.1'
    ? 'EndContact over HTTP, tracing on (10% sampled, OTLP to Jaeger)'
    : `EndContact over HTTP, tracing on (OTEL_TRACES_SAMPLER=${SAMPLER}, ARG ${SAMPLER_ARG}, OTLP to Jaeger)`;

type Mode = 'off' | 'on';
type Round = { mode: Mode; ok: number; other: number; seconds: number; receiverCpu: number; serviceCpu: number };

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

async function round(mode: Mode, index: number, jaeger: Jaeger): Promise<Round> {
  progress(`tracing ${mode}, round ${index + 1}: starting the service`);
  const target = await startService(envOf(mode, jaeger));
  try {
    const base = 6_000_000_000 + index * 1_000_000;
    const warmUp = contactIds(WARM_UP_ENDS, base);
    const ids = contactIds(CONTACTS, base + WARM_UP_ENDS);
    await registerContacts(target, [...warmUp, ...ids], CONNECTIONS);
    await endContacts(target, warmUp, CONNECTIONS, 30);
    await settle(target);
    progress(`tracing ${mode}, round ${index + 1}: EndContact, ${CONNECTIONS} connections, up to ${SECONDS} s`);
    const cpuBefore = cpuSeconds(jaeger.pid);
    const serviceCpuBefore = cpuSeconds(target.service.child.pid);
    const end = await endContacts(target, ids, CONNECTIONS, SECONDS);
    return {
      serviceCpu: cpuSeconds(target.service.child.pid) - serviceCpuBefore,
      mode,
      ok: end.statuses['200'] ?? 0,
      other: answersOtherThan(end, 200),
      seconds: end.seconds,
      receiverCpu: cpuSeconds(jaeger.pid) - cpuBefore,
    };
  } finally {
    await target.stop();
  }
}

/** Traces Jaeger holds of the service: the "on" rounds must have exported some, or the row measured nothing. */
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
  try {
    const rounds: Round[] = [];
    const order: Mode[] = Array.from({ length: ROUNDS }, (_, i): Mode[] =>
      i % 2 === 0 ? ['off', 'on'] : ['on', 'off'],
    ).flat();
    for (const [index, mode] of order.entries()) rounds.push(await round(mode, index, jaeger));
    const rate = (mode: Mode) => {
      const of = rounds.filter((r) => r.mode === mode);
      const ok = of.reduce((sum, r) => sum + r.ok, 0);
      const seconds = of.reduce((sum, r) => sum + r.seconds, 0);
      // The service's CPU (all its threads) per answered end: steadier than the rate on a shared machine.
      const cpuPerEnd = (of.reduce((sum, r) => sum + r.serviceCpu, 0) / ok) * 1e6;
      return { perSecond: ok / seconds, each: of.map((r) => formatInt(r.ok / r.seconds)).join(', '), cpuPerEnd };
    };
    const on = rate('on');
    const off = rate('off');
    const traces = await tracesIn(jaeger);
    const other = rounds.reduce((sum, r) => sum + r.other, 0);
    const receiverCpu = rounds.filter((r) => r.mode === 'on').reduce((sum, r) => sum + r.receiverCpu, 0);
    const onSeconds = rounds.filter((r) => r.mode === 'on').reduce((sum, r) => sum + r.seconds, 0);
    const samplesNothing = SAMPLER.endsWith('always_off');
    if (traces === 0 && !samplesNothing)
      return [row(FIGURE, 'no trace reached Jaeger: tracing was not on', `≥ ${MIN_RATIO}×`, 'failed')];
    return [
      ratioRow(
        `${FIGURE} (${CONNECTIONS} connections)`,
        `${formatInt(on.perSecond)} ok/s (rounds: ${on.each}; service CPU ${on.cpuPerEnd.toFixed(0)} µs an end; ${formatInt(traces)} traces in Jaeger; ${formatInt(other)} non-200 in all rounds; Jaeger at nice 19 used ${(receiverCpu / onSeconds).toFixed(2)} CPU-s/s meanwhile)`,
        on.perSecond,
        `tracing off (no SDK loaded): ${formatInt(off.perSecond)} ok/s (rounds: ${off.each}; service CPU ${off.cpuPerEnd.toFixed(0)} µs an end)`,
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
      `${ROUNDS} rounds of each, ${SECONDS} s each\n\n${renderTable(rows)}\n`,
  );
} catch (error) {
  progress(`bench:tracing failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUpEverything();
}
