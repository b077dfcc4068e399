/**
 * The orchestrator image run through the docker CLI, for the tests that kill, stop, pause and restart it: the CLI
 * keeps the container (and its /data volume) across those, where testcontainers would remove it. Labelled with the
 * run, published on 127.0.0.1 only; the client reads the published port again after every start.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { docker, publishedAddress, runLabels } from './containers.js';
import { OrchestratorClient } from './client.js';
import { freePort } from './service.js';
import { waitFor } from './suites.js';

export const SIGNING_KEYS = 'k1:container-test-signing-key-of-at-least-32-bytes';

export type OrchestratorContainer = {
  id: string;
  token: string;
  /** A client on the port published now (it changes across a stop and start). */
  client(): Promise<OrchestratorClient>;
  /** Waits until /health answers 200 and returns a client. */
  healthy(timeoutMs?: number): Promise<OrchestratorClient>;
  /** Its state (running, exit code, OOM-killed) and the last lines it logged: for whoever reads a red run. */
  describe(lines?: number): Promise<string>;
  remove(): Promise<void>;
};

export async function runOrchestrator(
  image: string,
  options: {
    args?: string[];
    env?: Record<string, string>;
    token?: string;
    network?: string;
    /** Networks joined besides `network` before the service starts (the engine takes one at creation). */
    alsoOn?: string[];
  } = {},
): Promise<OrchestratorContainer> {
  const token = options.token ?? `container-test-${Math.random().toString(36).slice(2)}-platform-token`;
  const labels = Object.entries(runLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const env = Object.entries({
    PLATFORM_TOKEN: token,
    SECURITY_USER_SIGNING_KEYS: SIGNING_KEYS,
    ...options.env,
  }).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const network = options.network ? ['--network', options.network] : [];
  // On more than one network the port is published through the one that carries the default route, which the engine
  // picks by network name; disconnecting that one moves the mapping to another and re-allocates an ephemeral host
  // port (Docker 20.10: a reconnect moved 32769 to 32770, then 32771). A host port chosen here stays put.
  const hostPort = options.alsoOn?.length ? String(await freePort()) : '';
  const id = await docker([
    'create',
    ...labels,
    ...network,
    '--publish',
    `127.0.0.1:${hostPort}:3000`,
    ...env,
    ...(options.args ?? []),
    image,
  ]);
  for (const other of options.alsoOn ?? []) await docker(['network', 'connect', other, id]);
  await docker(['start', id]);
  const client = async (): Promise<OrchestratorClient> =>
    new OrchestratorClient(`http://${await publishedAddress(id)}`, token);
  return {
    id,
    token,
    client,
    healthy: async (timeoutMs = 90_000) =>
      waitFor(
        async () => {
          const api = await client().catch(() => undefined);
          return api &&
            (await fetch(`${api.url}/health`).then(
              (r) => r.status,
              () => 0,
            )) === 200
            ? api
            : undefined;
        },
        timeoutMs,
        `container ${id.slice(0, 12)} to answer /health with 200`,
      ),
    describe: async (lines = 60) => {
      const state = await docker(['inspect', '--format', '{{json .State}}', id]).catch(
        (error: unknown) => `(inspect failed: ${String(error)})`,
      );
      // Both streams: a fatal error (heap out of memory, an uncaught exception) goes to stderr, the service's log to
      // stdout. The access lines of a test polling /health or /metrics are left out: they would be all that is seen.
      const polled = /"route":"\/(health|metrics)"/;
      const last = (text: string): string =>
        text
          .split('\n')
          .filter((line) => !polled.test(line))
          .slice(-lines)
          .join('\n');
      const logs = await promisify(execFile)('docker', ['logs', id], { maxBuffer: 256 << 20 }).then(
        ({ stdout, stderr }) => `${last(stdout)}${stderr ? `\n(stderr)\n${last(stderr)}` : ''}`,
        (error: unknown) => `(logs failed: ${String(error)})`,
      );
      return `container ${id.slice(0, 12)}: ${state}\n${logs}`;
    },
    remove: async () => void (await docker(['rm', '--force', '--volumes', id]).catch(() => undefined)),
  };
}
