/**
 * The Dockerfile read as the builder reads it: one Node.js LTS argument for every stage, a runtime stage that
 * holds package.json, production node_modules and dist only, as `node`, and a health check on the service's
 * port. test/container-image.int.spec.ts replays the same file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildContextFiles } from './harness/build-context.js';
import { copyArguments, envAssignments, execForm, lineage, parseDockerfile, stage, type Dockerfile, type Stage } from './harness/dockerfile.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const text = readFileSync(`${ROOT}/Dockerfile`, 'utf8');
const dockerfile = parseDockerfile(text);

/** End of life of each Node.js LTS line (github.com/nodejs/Release, schedule.json). */
const NODE_LTS_END_OF_LIFE: Record<number, string> = { 22: '2027-04-30', 24: '2028-04-30', 26: '2029-04-30' };

/** Stages that start from an image rather than from an earlier stage. */
const baseStages = (file: Dockerfile): Stage[] => file.stages.filter((s) => lineage(file, s)[0] === s);
const last = (target: Stage, keyword: string): string | undefined => target.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;

describe('Dockerfile', () => {
  it('builds every stage from one build argument naming the Node.js line', () => {
    const bases = baseStages(dockerfile);
    expect(bases.map((s) => s.name)).toEqual(expect.arrayContaining(['runtime']));
    expect(lineage(dockerfile, stage(dockerfile, 'build'))[0]!.fromText).toBe(bases[0]!.fromText);
    expect(new Set(bases.map((s) => s.fromText)).size).toBe(1);
    const argument = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(bases[0]!.fromText)?.[1];
    expect(argument, `FROM ${bases[0]!.fromText} names no build argument`).toBeDefined();
    // Overriding the argument, as `docker build --build-arg` does, moves every stage to the other line.
    const overridden = parseDockerfile(text, { [argument!]: '26' });
    for (const base of baseStages(overridden)) expect(base.from, base.name).toMatch(/^node:26(-|$)/);
  });

  it('starts from a Node.js LTS line that is still supported', () => {
    for (const base of baseStages(dockerfile)) {
      const major = Number(/^node:(\d+)/.exec(base.from)?.[1]);
      const endOfLife = NODE_LTS_END_OF_LIFE[major];
      expect(endOfLife, `${base.from}: not an LTS line this test knows (${Object.keys(NODE_LTS_END_OF_LIFE).join(', ')})`).toBeDefined();
      expect(new Date(`${endOfLife}T00:00:00Z`).getTime(), `${base.from} reaches end of life on ${endOfLife}`).toBeGreaterThan(Date.now());
    }
  });

  it('copies package.json, node_modules and dist from the build stage into the runtime stage, and nothing else', () => {
    const copies = stage(dockerfile, 'runtime').instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    expect(copies.every((i) => i.keyword === 'COPY')).toBe(true);
    const copied = copies.map((i) => copyArguments(i.args));
    expect(copied.every((c) => c.from === 'build')).toBe(true);
    expect(copied.flatMap((c) => c.sources).map((s) => s.replace(/^\/app\//, '')).sort()).toEqual(['dist', 'node_modules', 'package.json']);
  });

  it('runs the service as the node user, with the compiled entry point', () => {
    const runtime = stage(dockerfile, 'runtime');
    expect(last(runtime, 'USER')?.split(':')[0]).toBe('node');
    expect(execForm(last(runtime, 'CMD') ?? '')).toEqual(['node', 'dist/apps/orchestrator/src/main.js']);
  });

  it('health-checks /health on the port the image sets', () => {
    const runtime = stage(dockerfile, 'runtime');
    const env = Object.assign({}, ...runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => envAssignments(i.args))) as Record<string, string>;
    const healthcheck = last(runtime, 'HEALTHCHECK') ?? '';
    expect(healthcheck).not.toMatch(/^NONE/i);
    expect(healthcheck).toContain(`http://127.0.0.1:${env.PORT}/health`);
  });

  it('runs only npm scripts that package.json defines, and drops the dev dependencies', () => {
    const scripts = (JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
    const runs = stage(dockerfile, 'build').instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const named = runs.flatMap((run) => [...run.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!));
    expect(named.length).toBeGreaterThan(0);
    for (const script of named) expect(scripts[script], `npm run ${script}`).toBeDefined();
    expect(runs.some((run) => /npm prune --omit=dev/.test(run))).toBe(true);
  });

  it('prunes what the runtime never reads from node_modules after the dev dependencies are dropped', () => {
    // Without it, better-sqlite3's build leftovers, the TypeScript compiler, maps and declarations (~90 MB) come back.
    const steps = stage(dockerfile, 'build')
      .instructions.filter((i) => i.keyword === 'RUN')
      .flatMap((i) => i.args.split(/\s*&&\s*/).map((step) => step.trim()));
    const prune = steps.findIndex((step) => /^npm prune --omit=dev\b/.test(step));
    const leftovers = steps.findIndex((step) => step === 'node scripts/containers/prune-runtime-modules.mjs node_modules');
    expect(prune, 'npm prune --omit=dev').toBeGreaterThanOrEqual(0);
    expect(leftovers, 'node scripts/containers/prune-runtime-modules.mjs node_modules').toBeGreaterThan(prune);
    expect(buildContextFiles(ROOT)).toContain('scripts/containers/prune-runtime-modules.mjs');
  });

  it('keeps dependencies, build output, git and tests out of the build context', () => {
    const context = buildContextFiles(ROOT);
    expect(context).toContain('package-lock.json');
    for (const folder of ['node_modules/', 'dist/', '.git', 'test/']) expect(context.filter((f) => f.startsWith(folder)), folder).toEqual([]);
  });
});
