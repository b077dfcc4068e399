/**
 * npm run bench — every figure measured in one run and printed as ONE table on stdout (progress on
 * stderr): each figure, what it is compared with in the same run, the ratio, the target, met or not.
 * Exits 0 whatever the figures (it is a measurement); non-zero only when the bench itself could not measure.
 * Sizes and durations come from BENCH_* variables (bench/options.ts); BENCH_ONLY picks parts.
 */
import { cpus, totalmem } from 'node:os';
import { resolveKafka } from '../test/harness/kafka.js';
import { AUDIT_FIGURES, measureAuditExport } from './audit-export.js';
import { IMAGE_FIGURES, measureImage } from './container-image.js';
import { BATCH_FIGURES, measureBatch } from './end-batch.js';
import { measureEndToKafka, LATENCY_FIGURES } from './kafka-latency.js';
import { measureForwarder, FORWARDER_FIGURES } from './fanout.js';
import { GROWTH_FIGURES, measureGrowth } from './growth.js';
import { HTTP_FIGURES, measureHttp } from './http-load.js';
import { kafkaClient } from './kafka-topics.js';
import { loadOptions, OptionsError, type BenchOptions, type Part } from './options.js';
import { measurePostgres, POSTGRES_FIGURES } from './postgres.js';
import { measureRebuild, REBUILD_FIGURES } from './rebuild.js';
import { measureSoak, SOAK_FIGURES } from './soak.js';
import { measureStore, STORE_FIGURES } from './store.js';
import { cleanUpEverything, defer, progress } from './support.js';
import { renderTable, unmeasured, type Row } from './table.js';

type Figures = ReadonlyArray<{ figure: string; target: string }>;

let failed = false;
const rows: Row[] = [];

/** Runs one measurement; a failure becomes `failed` rows (and a non-zero exit), never a lost table. */
async function measure(figures: Figures, what: () => Promise<Row[]>): Promise<void> {
  try {
    rows.push(...(await what()));
  } catch (error) {
    failed = true;
    progress(`FAILED: ${(error as Error).stack ?? String(error)}`);
    rows.push(...unmeasured(figures, 'failed', (error as Error).message.slice(0, 200)));
  }
}

async function part(options: BenchOptions, name: Part, figures: Figures, what: () => Promise<void>): Promise<void> {
  if (options.parts.has(name)) await what();
  else rows.push(...unmeasured(figures, 'skipped', 'not in BENCH_ONLY'));
}

/** Both Kafka rows share one broker: BENCH's KAFKA_BROKERS, else testcontainers, else a local KRaft broker. */
async function kafkaRows(options: BenchOptions, runId: string): Promise<void> {
  progress('kafka: resolving a broker (KAFKA_BROKERS, testcontainers, local KRaft)');
  const figures = [...FORWARDER_FIGURES, ...LATENCY_FIGURES];
  let resolution;
  try {
    resolution = await resolveKafka();
  } catch (error) {
    await measure(figures, () => Promise.reject(error));
    return;
  }
  if (resolution.kind === 'skipped') {
    progress(`kafka: skipped: ${resolution.reason}`);
    rows.push(...unmeasured(figures, 'skipped', resolution.reason));
    return;
  }
  const stopBroker = defer(() => resolution.stop());
  try {
    progress(`kafka: broker ${resolution.brokers.join(',')} (${resolution.source})`);
    const kafka = kafkaClient(resolution.brokers, 'contact-orchestrator-bench');
    await measure(FORWARDER_FIGURES, () => measureForwarder(kafka, resolution.brokers, options.kafka, runId));
    await measure(LATENCY_FIGURES, () => measureEndToKafka(kafka, resolution.brokers, options.kafka, runId));
  } finally {
    await stopBroker();
  }
}

function machine(): string {
  const cores = cpus();
  return `${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB`;
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = loadOptions();
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  setTimeout(() => {
    progress(`the bench did not finish within ${options.timeoutSeconds} s (BENCH_TIMEOUT_SECONDS): cleaning up`);
    void cleanUpEverything().finally(() => process.exit(1));
  }, options.timeoutSeconds * 1_000).unref();
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const started = new Date();
  await part(options, 'http', HTTP_FIGURES, () => measure(HTTP_FIGURES, () => measureHttp(options.http)));
  await part(options, 'store', STORE_FIGURES, () => measure(STORE_FIGURES, () => measureStore(options.store)));
  await part(options, 'rebuild', REBUILD_FIGURES, () =>
    measure(REBUILD_FIGURES, () => measureRebuild(options.rebuild)),
  );
  await part(options, 'audit', AUDIT_FIGURES, () => measure(AUDIT_FIGURES, () => measureAuditExport(options.audit)));
  await part(options, 'kafka', [...FORWARDER_FIGURES, ...LATENCY_FIGURES], () => kafkaRows(options, runId));
  await part(options, 'batch', BATCH_FIGURES, () => measure(BATCH_FIGURES, () => measureBatch(options.batch)));
  await part(options, 'image', IMAGE_FIGURES, () => measure(IMAGE_FIGURES, () => measureImage()));
  // Beside the HTTP load's RSS figure when that part ran in this run.
  const httpRss = rows.find(
    (r) => r.figure === HTTP_FIGURES[3].figure && r.result !== 'skipped' && r.result !== 'failed',
  )?.measured;
  await part(options, 'soak', SOAK_FIGURES, () => measure(SOAK_FIGURES, () => measureSoak(options.soak, httpRss)));
  await part(options, 'growth', GROWTH_FIGURES, () =>
    measure(GROWTH_FIGURES, () => measureGrowth(options.growth, options.http)),
  );
  await part(options, 'postgres', POSTGRES_FIGURES, () =>
    measure(POSTGRES_FIGURES, () => measurePostgres(options.http, options.store)),
  );
  process.stdout.write(
    `contact-orchestrator bench, ${started.toISOString()}, ${machine()}, Node ${process.version}\n\n${renderTable(rows)}\n`,
  );
  process.exitCode = failed ? 1 : 0;
}

// Ctrl-C or a kill: stop the children and remove the temp dirs before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanUpEverything().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  progress(`bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUpEverything();
}
