/**
 * The container image, built without Docker: the build context as `docker build` sends it (.dockerignore
 * applied), the build stage's own instructions replayed in a scratch folder, the runtime stage's COPYs into a
 * second one, and the service started from that folder alone. Where a Docker engine answers, `docker build`
 * runs for real as well.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBuildContext } from './harness/build-context.js';
import { parseDockerfile, type Dockerfile } from './harness/dockerfile.js';
import { buildEnvironment, replayStage, type StageImage } from './harness/image-replay.js';
import { startServiceProcess, type ServiceProcess } from './harness/service.js';
import { printSkip } from './harness/skip.js';
import { dockerBuild } from './harness/docker-build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MINUTE = 60_000;
const execFileAsync = promisify(execFile);

/** Every .js file under a folder, as absolute paths. */
function javascriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('container image replayed without Docker', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'co-image-'));
  const contextDir = join(scratch, 'context');
  let dockerfile: Dockerfile;
  let contextFiles: string[];
  let build: StageImage;
  let runtime: StageImage;
  let service: ServiceProcess | undefined;
  const started = Date.now();

  beforeAll(async () => {
    dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    contextFiles = copyBuildContext(ROOT, contextDir);
    const baseEnv = buildEnvironment(process.env);
    build = await replayStage({ dockerfile, stage: 'build', contextDir, rootfs: join(scratch, 'build'), baseEnv, runTimeoutMs: 15 * MINUTE });
    runtime = await replayStage({
      dockerfile,
      stage: 'runtime',
      contextDir,
      rootfs: join(scratch, 'runtime'),
      stageRootfs: { build: build.rootfs },
      baseEnv,
      runTimeoutMs: 5 * MINUTE,
    });
    console.info(`image replay: ${((Date.now() - started) / 1000).toFixed(0)} s\n  ${[...build.steps, ...runtime.steps].join('\n  ')}`);
  }, 25 * MINUTE);

  afterAll(async () => {
    await service?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('builds from the context .dockerignore leaves, which has no test/ folder', () => {
    expect(contextFiles).toContain('package-lock.json');
    expect(contextFiles.filter((f) => f.startsWith('test/') || f.startsWith('node_modules/') || f.startsWith('dist/'))).toEqual([]);
    expect(existsSync(join(build.hostWorkdir, 'dist', 'apps', 'orchestrator', 'src', 'main.js'))).toBe(true);
  });

  it('ships package.json, production node_modules and dist only, and runs as node', () => {
    expect(readdirSync(runtime.hostWorkdir).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    expect(runtime.user).toBe('node');
  });

  it('compiles only what tsconfig.build.json includes, and nothing in dist imports test/ or bench/', () => {
    const dist = join(runtime.hostWorkdir, 'dist');
    const included = (JSON.parse(readFileSync(join(contextDir, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include;
    expect(readdirSync(dist).filter((name) => !name.startsWith('.')).every((name) => included.includes(name))).toBe(true);
    const outside: string[] = [];
    for (const file of javascriptFiles(dist)) {
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = relative(dist, resolve(dirname(file), match[1]!));
        if (target.startsWith('..') || !included.includes(target.split(sep)[0]!)) outside.push(`${relative(dist, file)} -> ${match[1]}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('has no dev dependency in the runtime node_modules (npm ls --omit=dev is clean)', async () => {
    const env = buildEnvironment(process.env);
    const { stdout } = await execFileAsync('npm', ['ls', '--omit=dev', '--all', '--json'], { cwd: runtime.hostWorkdir, env, maxBuffer: 64 << 20 });
    expect((JSON.parse(stdout) as { problems?: string[] }).problems ?? []).toEqual([]);
    // The lockfile marks every package only dev dependencies need; none of them may have been copied.
    const lock = JSON.parse(readFileSync(join(contextDir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && entry.dev === true).map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(0);
    expect(devOnly.filter((path) => existsSync(join(runtime.hostWorkdir, path)))).toEqual([]);
  }, 2 * MINUTE);

  it('starts from the runtime folder alone with its CMD and ENV, and /health answers', async () => {
    // Node resolves packages up the folder tree: nothing above the runtime folder may lend it one.
    for (let dir = runtime.hostWorkdir; dirname(dir) !== dir; dir = dirname(dir)) expect(existsSync(join(dirname(dir), 'node_modules')), dirname(dir)).toBe(false);
    const [program, main, ...rest] = runtime.cmd ?? [];
    expect(program).toBe('node');
    expect(rest).toEqual([]);
    const dataDir = join(scratch, 'data');
    service = await startServiceProcess({
      main: join(runtime.hostWorkdir, main!),
      cwd: runtime.hostWorkdir,
      dataDir,
      // The image's environment, but on loopback, a free port and a temp folder in place of the /data volume.
      env: { ...runtime.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir },
    });
    const response = await fetch(`${service.url}/health`);
    const body = (await response.json()) as { status?: string; info?: { eventStore?: { status?: string } } };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.info?.eventStore?.status).toBe('up');
    // The supervisor page is built into dist and served by the image too.
    const page = await fetch(`${service.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/supervisor/main.js');
    expect((await fetch(`${service.url}/supervisor/main.js`)).status).toBe(200);
    console.info(`image replay and start: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }, 2 * MINUTE);
});

describe('container image built by Docker', () => {
  it('builds, runs as node and answers /health', async (context) => {
    const outcome = await dockerBuild(ROOT, 25 * MINUTE);
    if (outcome.kind === 'no-engine') {
      printSkip('container image built by Docker', outcome.reason);
      context.skip();
      return;
    }
    expect(outcome.user).toBe('node');
    expect(outcome.health.status, outcome.logs).toBe(200);
  }, 30 * MINUTE);
});
