/**
 * The global teardown's sweep (containers.ts) removes what this run left, and testcontainers containers no run
 * labelled (an integrator's code), but never what another run labelled: two suites may run side by side on one
 * engine (CI beside a developer's run), and one's teardown must not pull the other's broker away mid-suite.
 * Containers are only created, never started: the sweep looks at labels and creation times alone.
 */
import { describe, expect, it } from 'vitest';
import { docker, dockerEngine, orchestratorImage, RUN_LABEL, sweep } from './containers.js';

const engine = await dockerEngine();

describe.skipIf(!engine.ok)('sweep(run, since)', () => {
  it("removes this run's containers and unlabelled testcontainers ones, never another run's", async () => {
    const image = await orchestratorImage();
    const since = Date.now() - 2_000;
    const run = `sweep-spec-${process.pid}`;
    const create = async (labels: Record<string, string>): Promise<string> =>
      (await docker(['create', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), image])).slice(
        0,
        12,
      );
    const others = await create({ 'org.testcontainers': 'true', [RUN_LABEL]: `${run}-other` });
    try {
      const mine = await create({ 'org.testcontainers': 'true', [RUN_LABEL]: run });
      const integrators = await create({ 'org.testcontainers': 'true' });
      const removed = await sweep(run, since);
      expect(removed).toEqual(expect.arrayContaining([`container ${mine}`, `container ${integrators}`]));
      expect(removed).not.toContain(`container ${others}`);
      expect(await docker(['ps', '--all', '--quiet', '--filter', `id=${others}`])).toBe(others);
    } finally {
      await docker(['rm', '--force', others]);
    }
  });
});
