// Finds a real Kafka broker for integration tests (docs/testing.md), in this order:
//   1. KAFKA_BROKERS env (comma list)          -> source 'env'            (never stopped by us)
//   2. testcontainers: apache/kafka (official image, or its stand-in, scripts/containers/stand-ins.mjs), when a
//      container engine answers and the image starts -> source 'testcontainers' (stopBroker/startBroker: docker stop/start)
//   3. local KRaft broker (scripts/kafka/kafka.mjs, needs java + mvn; KAFKA_LOCAL=0 disables)
//                                               -> source 'local-kraft'   (restart/stopBroker/startBroker available)
//   4. { kind: 'skipped', reason } explaining every step above; KAFKA_REQUIRED=1 turns that into an error
//      so CI cannot go green on skipped Kafka suites.
// A way that fails (engine refusing, image not pullable) says why and the next one is tried.
// One resolution per process (cached on globalThis, so two copies of this module still share it).
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printSkip, probeContainerRuntime } from './skip.js';

export type KafkaResolution =
  | {
      kind: 'ready';
      brokers: string[];
      source: 'env' | 'testcontainers' | 'local-kraft';
      /** Why each earlier way in the order was passed over (empty when the first way worked). */
      passedOver?: string[];
      /** Releases what this process started; a no-op for brokers it only borrowed. Safe to call twice. */
      stop(): Promise<void>;
      /** local-kraft only: stop + start on the same port and data dir (topics and offsets survive). */
      restart?(): Promise<void>;
      stopBroker?: () => Promise<void>;
      startBroker?: () => Promise<void>;
    }
  | { kind: 'skipped'; reason: string };

/** The repository root: the nearest folder with a package.json (this file also runs compiled, from dist/). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const ROOT = repositoryRoot();
const SCRIPT = join(ROOT, 'scripts/kafka/kafka.mjs');
const CACHE = Symbol.for('contact-orchestrator.test.kafka-resolution');
const RUNTIME_PROBE_MS = 5_000;
// First run may fetch ~45 MB of jars with Maven before the broker starts.
const UP_TIMEOUT_MS = 300_000;
// The official Apache Kafka image of the release scripts/kafka/pom.xml pins; KAFKA_TC_IMAGE may name another.
const TC_IMAGE = process.env.KAFKA_TC_IMAGE;

type Cached = { [CACHE]?: Promise<KafkaResolution> };
const cache = globalThis as Cached;

// `SKIPPED <suite>: <reason>` lives in skip.ts so every harness reports skips the same way.
export { printSkip };

export function resolveKafka(): Promise<KafkaResolution> {
  cache[CACHE] ??= resolveUncached().then((res) => {
    if (res.kind === 'skipped' && process.env.KAFKA_REQUIRED === '1') {
      throw new Error(`KAFKA_REQUIRED=1 but no Kafka broker is available: ${res.reason}`);
    }
    return res;
  });
  return cache[CACHE];
}

/** A resolution of its own, not cached and not the shared one: for the harness's own tests of its order. */
export function resolveKafkaFresh(
  options: { containerImage?: string; ignoreEnv?: boolean } = {},
): Promise<KafkaResolution> {
  return resolveUncached(options.containerImage ?? TC_IMAGE, options.ignoreEnv ?? false);
}

async function resolveUncached(image = TC_IMAGE, ignoreEnv = false): Promise<KafkaResolution> {
  const fromEnv = (ignoreEnv ? '' : (process.env.KAFKA_BROKERS ?? ''))
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (fromEnv.length > 0) return { kind: 'ready', source: 'env', brokers: fromEnv, stop: async () => {} };

  const why: string[] = ['KAFKA_BROKERS is not set'];
  const runtime = await probeContainerRuntime(RUNTIME_PROBE_MS);
  if (runtime.ok) {
    try {
      return await startContainer(image);
    } catch (error) {
      const message = (error as Error).message.split('\n')[0];
      console.warn(
        `kafka harness: testcontainers could not start ${image ?? 'apache/kafka'} (${message}); trying the next way`,
      );
      why.push(`testcontainers: ${image ?? 'apache/kafka'} did not start (${message})`);
    }
  } else why.push(`testcontainers: no container engine (${runtime.reason})`);

  if (process.env.KAFKA_LOCAL === '0') {
    why.push('local KRaft broker disabled by KAFKA_LOCAL=0');
  } else {
    const missing = ['java', 'mvn'].filter((cmd) => !onPath(cmd));
    if (missing.length > 0) why.push(`local KRaft broker needs ${missing.join(' and ')} on PATH`);
    else {
      try {
        return { ...(await startLocal()), passedOver: why };
      } catch (e) {
        why.push(`local KRaft broker failed: ${(e as Error).message}`);
      }
    }
  }
  return { kind: 'skipped', reason: why.join('; ') };
}

async function startContainer(image: string | undefined): Promise<Extract<KafkaResolution, { kind: 'ready' }>> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const { ApacheKafkaContainer } = await import('#testcontainers');
  const { docker, runLabels } = await import('./containers.js');
  const started = await new ApacheKafkaContainer(image)
    .withLabels(runLabels())
    // As the local KRaft broker (scripts/kafka/kafka.mjs): the suites are written against one partition by default.
    .withEnvironment({ KAFKA_NUM_PARTITIONS: '1', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true' })
    .start();
  const id = started.getId();
  const brokers = [started.getBootstrapServers()];
  let stopped: Promise<void> | undefined;
  return {
    kind: 'ready',
    source: 'testcontainers',
    brokers,
    passedOver: ['KAFKA_BROKERS is not set'],
    stop: () => (stopped ??= (forget(), started.stop())),
    // The host port is fixed when the container is made, so the broker comes back at the same address.
    stopBroker: async () => void (await docker(['stop', '--time', '20', id], 60_000)),
    startBroker: async () => {
      const since = await docker(['inspect', '--format', '{{.State.FinishedAt}}', id]);
      await docker(['start', id]);
      await waitForLog(id, since, /Kafka Server started/, UP_TIMEOUT_MS);
    },
  };
}

/** Resolves when the container logs a line matching `pattern` after `since` (docker's own timestamps). */
async function waitForLog(id: string, since: string, pattern: RegExp, timeoutMs: number): Promise<void> {
  const { docker } = await import('./containers.js');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const logs = await docker(['logs', '--since', since, id]).catch(() => '');
    if (pattern.test(logs)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`container ${id.slice(0, 12)} logged no ${pattern} within ${timeoutMs} ms`);
}

async function startLocal(): Promise<Extract<KafkaResolution, { kind: 'ready' }>> {
  // A broker someone else started (`npm run kafka:up`, .ci/run, another terminal) is borrowed, not owned:
  // our stop() then leaves it running for them.
  const alreadyRunning = (await runScript('status', 15_000, true)).code === 0;
  const { stdout } = await runScript('up', UP_TIMEOUT_MS);
  const line = /^KAFKA_BROKERS=(.+)$/m.exec(stdout);
  if (!line?.[1]) throw new Error(`kafka.mjs up printed no KAFKA_BROKERS line:\n${stdout}`);
  const owned = !alreadyRunning;
  let stopped: Promise<void> | undefined;
  const onExit = (): void => {
    // Last resort if a suite forgot stop(): never leave an owned JVM running after the test process.
    spawnSync(process.execPath, [SCRIPT, 'down'], { stdio: 'ignore', timeout: 30_000 });
  };
  if (owned) process.once('exit', onExit);
  const stopBroker = async (): Promise<void> => void (await runScript('stop-keep-data', 60_000));
  const startBroker = async (): Promise<void> => void (await runScript('start-keep-data', UP_TIMEOUT_MS));
  return {
    kind: 'ready',
    source: 'local-kraft',
    brokers: line[1].split(','),
    stop: () =>
      (stopped ??= (async () => {
        forget();
        if (!owned) return;
        process.off('exit', onExit);
        await runScript('down', 60_000);
      })()),
    stopBroker,
    startBroker,
    restart: async () => {
      await stopBroker();
      await startBroker();
    },
  };
}

/** After stop() the next resolveKafka() in this process resolves afresh instead of returning a dead broker. */
function forget(): void {
  delete cache[CACHE];
}

function runScript(
  command: string,
  timeoutMs: number,
  allowFailure = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SCRIPT, command],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (err && !allowFailure) {
          const tail = stderr.trim().split('\n').slice(-25).join('\n');
          reject(
            new Error(
              `kafka.mjs ${command} failed (${err.killed ? `timed out after ${timeoutMs} ms` : `exit ${code}`}):\n${tail}`,
            ),
          );
        } else resolve({ code, stdout, stderr });
      },
    );
  });
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
