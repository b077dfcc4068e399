// Finds a real EventStoreDB for integration tests (docs/design.md, Real components in tests), in this order:
//   1. ESDB_CONNECTION_STRING env                       -> source 'env'            (never stopped by us)
//   2. testcontainers, only if a container engine answers -> source 'testcontainers' (insecure, in memory)
//   3. { kind: 'skipped', reason } naming why each step did not apply; ESDB_REQUIRED=1 turns that into an
//      error so CI cannot go green on skipped EventStoreDB suites.
// One resolution per process (cached on globalThis, so two copies of this module still share it).
import { printSkip, probeContainerRuntime } from './skip.js';

export { printSkip };

export type EsdbResolution =
  | {
      kind: 'ready';
      connectionString: string;
      source: 'env' | 'testcontainers';
      /** Releases what this process started; a no-op for a server it only borrowed. Safe to call twice. */
      stop(): Promise<void>;
    }
  | { kind: 'skipped'; reason: string };

// KurrentDB 25.1, the image the compose file runs; ESDB_TC_IMAGE may name another, e.g. EventStoreDB 24.10 LTS
// (EVENTSTORE_24_10_IMAGE). KurrentDB reads KURRENTDB_* settings (and still EVENTSTORE_*), EventStoreDB 24.10
// EVENTSTORE_* only. Both run in memory here, so the data path (/var/lib/kurrentdb, /var/lib/eventstore) does not
// matter.
export const KURRENTDB_IMAGE = 'docker.kurrent.io/kurrent-latest/kurrentdb:25.1';
export const EVENTSTORE_24_10_IMAGE = 'docker.eventstore.com/eventstore/eventstoredb-ee:24.10';
const TC_IMAGE = process.env.ESDB_TC_IMAGE?.trim() || KURRENTDB_IMAGE;
const HTTP_PORT = 2113;
const STARTUP_TIMEOUT_MS = 180_000;
const CACHE = Symbol.for('contact-orchestrator.test.esdb-resolution');

type Cached = { [CACHE]?: Promise<EsdbResolution> };
const cache = globalThis as Cached;

export function resolveEsdb(): Promise<EsdbResolution> {
  cache[CACHE] ??= resolveUncached().then((resolution) => {
    if (resolution.kind === 'skipped' && process.env.ESDB_REQUIRED === '1') {
      throw new Error(`ESDB_REQUIRED=1 but no EventStoreDB is available: ${resolution.reason}`);
    }
    return resolution;
  });
  return cache[CACHE];
}

async function resolveUncached(): Promise<EsdbResolution> {
  const fromEnv = process.env.ESDB_CONNECTION_STRING?.trim();
  if (fromEnv) return { kind: 'ready', source: 'env', connectionString: fromEnv, stop: async () => {} };

  const runtime = await probeContainerRuntime();
  if (!runtime.ok)
    return { kind: 'skipped', reason: `no ESDB_CONNECTION_STRING and no Docker engine reachable: ${runtime.reason}` };
  try {
    return await startContainer();
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    // No registry answers on the build machines: say so plainly, it is the one skip CI accepts (docs/containers.md).
    if (/pull|registry|no such host|manifest|not found/i.test(message))
      return { kind: 'skipped', reason: `${TC_IMAGE}: image not pullable here (${message})` };
    return {
      kind: 'skipped',
      reason: `no ESDB_CONNECTION_STRING, and ${TC_IMAGE} did not start under testcontainers: ${message}`,
    };
  }
}

async function startContainer(): Promise<EsdbResolution> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const { GenericContainer, Wait } = await import('testcontainers');
  const { runLabels } = await import('./containers.js');
  const container = await new GenericContainer(TC_IMAGE)
    .withLabels(runLabels())
    .withEnvironment(serverSettings(TC_IMAGE))
    .withExposedPorts(HTTP_PORT)
    // Ready once the node is leader: /health/live answers 204 before the election.
    .withWaitStrategy(
      Wait.forHttp('/info', HTTP_PORT)
        .forStatusCodeMatching((code) => code >= 200 && code < 300)
        .forResponsePredicate((body) => LEADER_STATE.test(body)),
    )
    .withStartupTimeout(STARTUP_TIMEOUT_MS)
    .start();
  let stopped: Promise<void> | undefined;
  return {
    kind: 'ready',
    source: 'testcontainers',
    connectionString: `esdb://${container.getHost()}:${container.getMappedPort(HTTP_PORT)}?tls=false`,
    stop: () =>
      (stopped ??= (async () => {
        forget();
        await container.stop();
      })()),
  };
}

/** What /info says of a node that leads (single node: once it has elected itself). */
export const LEADER_STATE = /"state"\s*:\s*"leader"/i;

/** An insecure single node in memory, without projections, under the prefix the image reads. */
export function serverSettings(image: string): Record<string, string> {
  const prefix = /kurrentdb/i.test(image) ? 'KURRENTDB_' : 'EVENTSTORE_';
  const settings = {
    INSECURE: 'true',
    MEM_DB: 'true',
    CLUSTER_SIZE: '1',
    RUN_PROJECTIONS: 'None',
    START_STANDARD_PROJECTIONS: 'false',
  };
  return Object.fromEntries(Object.entries(settings).map(([name, value]) => [`${prefix}${name}`, value]));
}

/** After stop() the next resolveEsdb() in this process resolves afresh instead of returning a dead server. */
function forget(): void {
  delete cache[CACHE];
}
