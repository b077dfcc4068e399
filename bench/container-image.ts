/**
 * The container image (part `image`): the project's Dockerfile built once with the legacy builder
 * (`DOCKER_BUILDKIT=0 docker build -t contact-orchestrator:bench .`), then
 *   - the megabytes it adds over its Node base image: `docker image inspect` size of the image minus that of the
 *     base its runtime stage starts from (the layers they share count once), in MB of 10^6 bytes as `docker images`;
 *   - the time from `docker run` to the first 200 on /health from the host, polled every 50 ms; the time the
 *     HEALTHCHECK turns the container `healthy` is printed beside it (its first probe runs one --interval after start).
 * Skips with the reason when no Docker engine answers. The container and its anonymous /data volume are removed;
 * the image stays tagged contact-orchestrator:bench so that the next run's build reuses its layers.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sleep } from '#runtime';
import { docker, dockerEngine, publishedAddress, ROOT } from '../test/harness/containers.js';
import { defer, progress } from './support.js';
import { row, unmeasured, verdict, type Row } from './table.js';

const TAG = 'contact-orchestrator:bench';
const MAX_ADDED_MB = 60;
/** The HEALTHCHECK's --interval: a service that answers before it is healthy at the first probe. */
const MAX_HEALTHY_SECONDS = 10;

export const IMAGE_FIGURES = [
  { figure: 'image: MB the Dockerfile adds over its Node base image', target: `≤ ${MAX_ADDED_MB} MB` },
  { figure: 'image: docker run to first 200 on /health, s', target: `≤ ${MAX_HEALTHY_SECONDS} s` },
] as const;

const imageBytes = async (image: string): Promise<number> =>
  Number(await docker(['image', 'inspect', '--format', '{{.Size}}', image]));

async function firstOk(url: string, deadline: number): Promise<number | undefined> {
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return performance.now();
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return undefined;
}

async function healthyAt(container: string, deadline: number): Promise<number | undefined> {
  while (Date.now() < deadline) {
    const status = await docker([
      'inspect',
      '--format',
      '{{if .State.Health}}{{.State.Health.Status}}{{end}}',
      container,
    ]).catch(() => '');
    if (status === 'healthy') return performance.now();
    if (status === 'unhealthy') return undefined;
    await sleep(250);
  }
  return undefined;
}

export async function measureImage(): Promise<Row[]> {
  const engine = await dockerEngine();
  if (!engine.ok) {
    progress(`image: skipped: ${engine.reason}`);
    return unmeasured(IMAGE_FIGURES, 'skipped', engine.reason);
  }
  const base = runtimeBase(readFileSync(`${ROOT}/Dockerfile`, 'utf8'));
  progress(`image: DOCKER_BUILDKIT=0 docker build -t ${TAG} . (base ${base})`);
  const buildStarted = performance.now();
  await docker(['build', '--tag', TAG, ROOT], 40 * 60_000, { ...process.env, DOCKER_BUILDKIT: '0' });
  progress(`image: built in ${((performance.now() - buildStarted) / 1000).toFixed(0)} s`);
  const addedMb = ((await imageBytes(TAG)) - (await imageBytes(base))) / 1e6;
  progress(`image: ${addedMb.toFixed(1)} MB over ${base}`);

  const secrets = [
    '-e',
    `PLATFORM_TOKEN=${randomBytes(32).toString('base64')}`,
    '-e',
    `SECURITY_USER_SIGNING_KEYS=k1:${randomBytes(32).toString('base64')}`,
  ];
  const started = performance.now();
  const container = await docker(['run', '--detach', '--publish', '127.0.0.1::3000', ...secrets, TAG]);
  const remove = defer(async () => void (await docker(['rm', '--force', '--volumes', container]).catch(() => '')));
  try {
    const address = await publishedAddress(container);
    const deadline = Date.now() + 120_000;
    const [ok, healthy] = await Promise.all([
      firstOk(`http://${address}/health`, deadline),
      healthyAt(container, deadline),
    ]);
    if (ok === undefined)
      throw new Error(
        `/health did not answer 200 within 120 s: ${(await docker(['logs', container]).catch(() => '')).slice(-500)}`,
      );
    const okSeconds = (ok - started) / 1000;
    const healthySeconds = healthy === undefined ? undefined : (healthy - started) / 1000;
    progress(
      `image: first 200 on /health after ${okSeconds.toFixed(2)} s, HEALTHCHECK healthy after ${healthySeconds?.toFixed(1) ?? 'never (120 s)'} s`,
    );
    return [
      row(
        IMAGE_FIGURES[0].figure,
        `${addedMb.toFixed(1)} MB (over ${base})`,
        IMAGE_FIGURES[0].target,
        verdict(addedMb <= MAX_ADDED_MB),
      ),
      {
        ...row(
          IMAGE_FIGURES[1].figure,
          `${okSeconds.toFixed(2)} s`,
          IMAGE_FIGURES[1].target,
          verdict(okSeconds <= MAX_HEALTHY_SECONDS),
        ),
        comparedWith: `HEALTHCHECK healthy at ${healthySeconds === undefined ? 'never (120 s)' : `${healthySeconds.toFixed(1)} s`}`,
      },
    ];
  } finally {
    await remove();
  }
}

/** The image the runtime stage starts from, with the build arguments' defaults filled in (`node:24-trixie-slim`). */
function runtimeBase(dockerfile: string): string {
  const from = /^FROM\s+(\S+)\s+AS\s+runtime\s*$/im.exec(dockerfile)?.[1];
  if (from === undefined) throw new Error('the Dockerfile has no `FROM … AS runtime` stage');
  const defaults = Object.fromEntries([...dockerfile.matchAll(/^ARG\s+(\w+)=(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]));
  return from.replace(/\$\{?(\w+)\}?/g, (_, name: string) => defaults[name] ?? '');
}
