/**
 * What can be read off the Dockerfile's text without building it: one build argument picks the Node.js line of every
 * stage, that line is still supported, npm scripts it runs exist, and .dockerignore keeps the heavy folders out.
 * Everything about the built image itself (its user, command, health check, contents) is asserted on the real image
 * in test/container-image.int.spec.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const text = readFileSync(`${ROOT}/Dockerfile`, 'utf8');
const instructions = text.split('\n').filter((line) => /^[A-Z]+\s/.test(line));

/** End of life of each Node.js LTS line (the Node.js release schedule). */
const NODE_LTS_END_OF_LIFE: Record<number, string> = { 22: '2027-04-30', 24: '2028-04-30', 26: '2029-04-30' };

describe('Dockerfile', () => {
  const froms = instructions.filter((line) => line.startsWith('FROM ')).map((line) => line.split(/\s+/)[1]!);
  const fromImages = froms.filter((image) => image.includes(':') || image.includes('$'));

  it('starts every stage built from an image on node:${NODE_VERSION}-trixie-slim, one argument for all', () => {
    expect(fromImages.length).toBeGreaterThan(0);
    expect(new Set(fromImages)).toEqual(new Set(['node:${NODE_VERSION}-trixie-slim']));
  });

  it('defaults NODE_VERSION to a Node.js LTS line that is still supported', () => {
    const major = Number(/^ARG NODE_VERSION=(\d+)$/m.exec(text)?.[1]);
    const endOfLife = NODE_LTS_END_OF_LIFE[major];
    expect(endOfLife, `NODE_VERSION=${major}: not an LTS line this test knows`).toBeDefined();
    expect(
      new Date(`${endOfLife}T00:00:00Z`).getTime(),
      `Node ${major} reaches end of life on ${endOfLife}`,
    ).toBeGreaterThan(Date.now());
  });

  it('runs only npm scripts that package.json defines, and drops the dev dependencies', () => {
    const scripts = (JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { scripts: Record<string, string> })
      .scripts;
    const named = [...text.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(0);
    for (const script of named) expect(scripts[script], `npm run ${script}`).toBeDefined();
    expect(text).toMatch(/npm prune --omit=dev/);
  });

  it('prunes what the runtime never reads from node_modules after the dev dependencies are dropped', () => {
    // Without it, better-sqlite3's build leftovers, the TypeScript compiler, maps and declarations (~90 MB) come back.
    const steps = text
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((line) => line.startsWith('RUN '))
      .flatMap((line) =>
        line
          .slice(4)
          .split(/\s*&&\s*/)
          .map((step) => step.trim()),
      );
    const prune = steps.findIndex((step) => /^npm prune --omit=dev\b/.test(step));
    const leftovers = steps.findIndex(
      (step) => step === 'node scripts/containers/prune-runtime-modules.mjs node_modules',
    );
    expect(prune, 'npm prune --omit=dev').toBeGreaterThanOrEqual(0);
    expect(leftovers, 'node scripts/containers/prune-runtime-modules.mjs node_modules').toBeGreaterThan(prune);
  });

  it('keeps dependencies, build output, git and tests out of the build context', () => {
    const ignored = readFileSync(`${ROOT}/.dockerignore`, 'utf8')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['node_modules', 'dist', '.git', 'test', 'bench', '.containers', '.kafka'])
      expect(ignored, entry).toContain(entry);
    expect(ignored.filter((line) => line.startsWith('!'))).toEqual([]);
  });
});
