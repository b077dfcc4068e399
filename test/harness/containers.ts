/**
 * What every container a test starts has in common (docs/containers.md): the run label that the global teardown
 * sweeps (the testcontainers reaper cannot run here, so the suite removes what it starts), and the orchestrator
 * image, built from this checkout once per run and reused by every suite.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Every container, network and volume a test run starts carries this label, valued with the run's id. */
export const RUN_LABEL = 'org.contact-orchestrator.test-run';

/** The repository root: the nearest folder with a package.json. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
export const ROOT = repositoryRoot();

/** The run's id: set once by the global setup (test/harness/global-setup.ts), `manual` outside a run. */
export function runId(): string {
  return process.env.CO_TEST_RUN ?? 'manual';
}

export function runLabels(): Record<string, string> {
  return { [RUN_LABEL]: runId() };
}

export async function docker(
  args: string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return (await execFileAsync('docker', args, { env, timeout: timeoutMs, maxBuffer: 256 << 20 })).stdout.trim();
}

/** `127.0.0.1:<port>` where the container publishes `port` on this machine (it changes across a stop and start). */
export async function publishedAddress(container: string, port = 3000): Promise<string> {
  const published = await docker(['port', container, `${port}/tcp`]);
  return published.split('\n').find((line) => line.startsWith('127.0.0.1:')) ?? published;
}

/** Whether a Docker engine answers the CLI, and if not, why (its first line). */
export async function dockerEngine(): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  try {
    return { ok: true, version: await docker(['version', '--format', '{{.Server.Version}}'], 15_000) };
  } catch (error) {
    const message = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return { ok: false, reason: `no Docker engine answers \`docker version\`: ${message.split('\n')[0]}` };
  }
}

/** The tag compose, the docs' testcontainers example and integrators use for the image built from this repository. */
export const ORCHESTRATOR_IMAGE_TAG = 'contact-orchestrator:local';

/** The run's own tag of the same image: another checkout building `:local` meanwhile cannot swap it under a suite. */
function runTag(): string {
  return `contact-orchestrator:run-${runId().toLowerCase()}`;
}

/**
 * Builds this checkout's image once per run (a marker file per run id; the engine's layer cache makes a rebuild of an
 * unchanged tree take seconds), tagged `contact-orchestrator:local` and with the run's own tag, which it returns.
 * With ORCHESTRATOR_IMAGE set, that image is used as it is.
 */
export async function orchestratorImage(): Promise<string> {
  if (process.env.ORCHESTRATOR_IMAGE) return process.env.ORCHESTRATOR_IMAGE;
  const markers = join(ROOT, '.containers', 'runs');
  const marker = join(markers, `image-${runId()}`);
  if (runId() !== 'manual' && existsSync(marker)) return runTag();
  const started = Date.now();
  await docker(['build', '--tag', ORCHESTRATOR_IMAGE_TAG, '--tag', runTag(), ROOT], 30 * 60_000, {
    ...process.env,
    DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? '0',
  });
  console.info(
    `image ${ORCHESTRATOR_IMAGE_TAG} (${runTag()}) built from ${ROOT} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  mkdirSync(markers, { recursive: true });
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return runTag();
}

/** Drops the run's own tag (the image stays as `contact-orchestrator:local`). */
export async function untagRunImage(): Promise<void> {
  if (process.env.ORCHESTRATOR_IMAGE) return;
  await docker(['image', 'rm', runTag()]).catch(() => undefined);
}

/**
 * Removes every container, network and volume labelled with this run (or, with no id, every run's), and the
 * testcontainers containers made since `since` that no other run labelled (an integrator's code, as the docs'
 * testcontainers example, adds no label of ours); says what it removed.
 */
export async function sweep(id?: string, since?: number): Promise<string[]> {
  const filter = `label=${RUN_LABEL}${id === undefined ? '' : `=${id}`}`;
  const removed: string[] = [];
  const containers = (await docker(['ps', '--all', '--quiet', '--filter', filter])).split('\n').filter(Boolean);
  if (since !== undefined) {
    for (const container of (await docker(['ps', '--all', '--quiet', '--filter', 'label=org.testcontainers=true']))
      .split('\n')
      .filter(Boolean)) {
      // Created and run label in one inspect: a container labelled by another run (a second suite running beside
      // this one, as CI beside a developer's run) is that run's to remove, never this one's.
      const [created = '', run = ''] = (
        await docker(['inspect', '--format', `{{.Created}}|{{index .Config.Labels "${RUN_LABEL}"}}`, container])
      ).split('|');
      if (Date.parse(created) >= since && (run === '' || run === id) && !containers.includes(container))
        containers.push(container);
    }
  }
  if (containers.length > 0) {
    await docker(['rm', '--force', '--volumes', ...containers]);
    removed.push(...containers.map((c) => `container ${c}`));
  }
  const networks = (await docker(['network', 'ls', '--quiet', '--filter', filter])).split('\n').filter(Boolean);
  // testcontainers' own networks cannot carry a label of ours: one of them that no container uses is a leftover.
  for (const network of (await docker(['network', 'ls', '--quiet', '--filter', 'label=org.testcontainers=true']))
    .split('\n')
    .filter(Boolean)) {
    if ((await docker(['network', 'inspect', '--format', '{{len .Containers}}', network])) === '0')
      networks.push(network);
  }
  for (const network of networks) {
    await docker(['network', 'rm', network]).catch(() => undefined);
    removed.push(`network ${network}`);
  }
  const volumes = (await docker(['volume', 'ls', '--quiet', '--filter', filter])).split('\n').filter(Boolean);
  if (volumes.length > 0) {
    await docker(['volume', 'rm', '--force', ...volumes]);
    removed.push(...volumes.map((v) => `volume ${v}`));
  }
  return removed;
}
