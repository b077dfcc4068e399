/**
 * Vitest's global setup (vitest.config.ts): gives the run an id that labels every container it starts, and in the
 * teardown removes whatever is still labelled with it, naming each leftover: the testcontainers reaper (Ryuk) cannot
 * run on machines without a registry, so the suite cleans up after itself (docs/containers.md).
 */
import { randomBytes } from 'node:crypto';
import { dockerEngine, orchestratorImage, sweep, untagRunImage } from './containers.js';

const startedAt = Date.now();

export async function setup(): Promise<void> {
  // No reaper: its image cannot be pulled here; the teardown below does its work.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  // A local engine publishes container ports on 127.0.0.1 only (scripts/containers/engine.sh: dockerd --ip). Inside a
  // container (/.dockerenv, as on these machines) testcontainers would reach them at the bridge's gateway instead,
  // where nothing listens: every HTTP wait then times out (docs/containers.md).
  if (!process.env.DOCKER_HOST || process.env.DOCKER_HOST.startsWith('unix:'))
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  process.env.CO_TEST_RUN ??= `${new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}-${randomBytes(3).toString('hex')}`;
  // The image every container suite (and the docs' testcontainers example) runs, built once before any of them.
  if ((await dockerEngine()).ok) await orchestratorImage();
}

export async function teardown(): Promise<void> {
  const id = process.env.CO_TEST_RUN;
  if (id === undefined || !(await dockerEngine()).ok) return;
  const removed = await sweep(id, startedAt);
  await untagRunImage();
  if (removed.length > 0)
    console.warn(`test run ${id}: removed ${removed.length} leftover(s) a suite did not: ${removed.join(', ')}`);
}
