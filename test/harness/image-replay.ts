/**
 * Replays a Dockerfile stage without Docker: each stage's filesystem is a scratch folder (`/app` becomes
 * `<rootfs>/app`), COPY copies from the build context or an earlier stage's folder, RUN runs with /bin/sh in
 * the WORKDIR on this machine's Node and npm. Anything it cannot replay faithfully is an error, never skipped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { argDefault, copyArguments, envAssignments, execForm, lineage, stage, substitute, words, type Dockerfile, type Instruction } from './dockerfile.js';

export type StageImage = {
  rootfs: string;
  /** WORKDIR inside the image and on this machine. */
  workdir: string;
  hostWorkdir: string;
  env: Record<string, string>;
  user: string | undefined;
  cmd: string[] | undefined;
  volumes: string[];
  /** What each instruction did, in order: `RUN npm ci: ran in 81 s`, `RUN apt-get ...: tools present`. */
  steps: string[];
};

export type ReplayOptions = {
  dockerfile: Dockerfile;
  stage: string;
  contextDir: string;
  rootfs: string;
  /** Folders of stages replayed before, for `COPY --from=<stage>`. */
  stageRootfs?: Record<string, string>;
  /** The environment RUN starts from: this machine's toolchain settings (e.g. npm_config_nodedir). */
  baseEnv: NodeJS.ProcessEnv;
  runTimeoutMs: number;
};

/** What the calling npm/Vitest process leaks into children: npm would act on the calling project, not the scratch one. */
export function buildEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const leaked = /^(npm_lifecycle_|npm_package_|npm_config_local_prefix$|npm_execpath$|npm_node_execpath$|npm_command$|INIT_CWD$|NODE_ENV$|NODE_OPTIONS$|VITEST)/;
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !leaked.test(e[0])));
}

/** A RUN that only installs Debian packages: the machine must already have them, since the replay runs here. */
function debianPackages(command: string): string[] | undefined {
  const parts = command.split(/\s*&&\s*/).map((p) => p.trim());
  const installs: string[] = [];
  for (const part of parts) {
    if (/^apt-get update$/.test(part) || /^rm -rf \/var\/lib\/apt\/lists\/\*$/.test(part)) continue;
    const install = /^apt-get install (.*)$/.exec(part);
    if (!install) return undefined;
    installs.push(...words(install[1]!).filter((w) => !w.startsWith('-')));
  }
  return installs.length > 0 ? installs : undefined;
}

function run(command: string[], cwd: string, env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-40_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function copyInto(source: string, destination: string, intoDirectory: boolean): void {
  if (!existsSync(source)) throw new Error(`COPY: ${source} does not exist`);
  if (statSync(source).isDirectory()) cpSync(source, destination, { recursive: true, verbatimSymlinks: true });
  else {
    const target = intoDirectory ? join(destination, basename(source)) : destination;
    mkdirSync(intoDirectory ? destination : join(target, '..'), { recursive: true });
    cpSync(source, target, { verbatimSymlinks: true });
  }
}

/** Replays `options.stage` and the stages it is built FROM, base first. */
export async function replayStage(options: ReplayOptions): Promise<StageImage> {
  const { dockerfile, rootfs } = options;
  const image: StageImage = { rootfs, workdir: '/', hostWorkdir: rootfs, env: {}, user: undefined, cmd: undefined, volumes: [], steps: [] };
  const host = (path: string): string => join(rootfs, posix.resolve(image.workdir, path));
  const vars = (): Record<string, string> => ({ ...dockerfile.globalArgs, ...image.env });
  mkdirSync(rootfs, { recursive: true });

  const apply = async (instruction: Instruction): Promise<void> => {
    const label = `${instruction.keyword} ${instruction.args}`.replace(/\s+/g, ' ').slice(0, 80);
    switch (instruction.keyword) {
      case 'ARG': {
        const [name, value] = argDefault(instruction.args);
        const resolved = value ?? dockerfile.globalArgs[name];
        if (resolved !== undefined) image.env[name] = substitute(resolved, vars());
        return;
      }
      case 'ENV':
        for (const [name, value] of Object.entries(envAssignments(instruction.args))) image.env[name] = substitute(value, vars());
        return;
      case 'WORKDIR':
        image.workdir = posix.resolve(image.workdir, substitute(instruction.args, vars()));
        image.hostWorkdir = join(rootfs, image.workdir);
        mkdirSync(image.hostWorkdir, { recursive: true });
        return;
      case 'COPY': {
        const copy = copyArguments(substitute(instruction.args, vars()));
        const from = copy.from === undefined ? options.contextDir : options.stageRootfs?.[copy.from.toLowerCase()];
        if (from === undefined) throw new Error(`line ${instruction.line}: COPY --from=${copy.from}: that stage was not replayed first`);
        if (copy.sources.some((s) => /[*?[]/.test(s))) throw new Error(`line ${instruction.line}: wildcards in COPY are not replayed`);
        const intoDirectory = copy.destination.endsWith('/') || copy.destination === '.' || copy.sources.length > 1;
        // Sources are paths in the context (or the other stage's filesystem), whatever the WORKDIR.
        for (const source of copy.sources) copyInto(join(from, posix.resolve('/', source)), host(copy.destination), intoDirectory);
        image.steps.push(`${label}: copied`);
        return;
      }
      case 'RUN':
        return runStep(instruction, label);
      case 'USER':
        image.user = instruction.args.split(':')[0];
        return;
      case 'VOLUME':
        image.volumes.push(...(execForm(instruction.args) ?? words(instruction.args)));
        return;
      case 'CMD':
        image.cmd = execForm(instruction.args) ?? ['/bin/sh', '-c', instruction.args];
        return;
      case 'EXPOSE':
      case 'HEALTHCHECK':
      case 'LABEL':
        return; // metadata: checked by the unit tests, nothing to replay
      default:
        throw new Error(`line ${instruction.line}: ${instruction.keyword} is not replayed; teach test/harness/image-replay.ts`);
    }
  };

  const runStep = async (instruction: Instruction, label: string): Promise<void> => {
    const command = execForm(instruction.args) ?? ['/bin/sh', '-c', instruction.args];
    const packages = execForm(instruction.args) ? undefined : debianPackages(instruction.args);
    if (packages) {
      const missing = packages.filter((p) => spawnSync('/bin/sh', ['-c', `command -v ${p}`]).status !== 0);
      if (missing.length > 0) throw new Error(`line ${instruction.line}: the image installs ${missing.join(', ')}, which this machine lacks`);
      image.steps.push(`${label}: tools present (${packages.join(', ')})`);
      return;
    }
    // The runtime stage's data volume: the test gives the service a temp DATA_DIR in its place.
    const mountPoint = /^mkdir -p (\/\S+)(?: && chown \S+ \1)?$/.exec(instruction.args.replace(/\s+/g, ' ').trim());
    const declared = mountPoint && lineageVolumes(instruction).includes(mountPoint[1]!);
    if (declared) {
      image.steps.push(`${label}: volume ${mountPoint[1]} stands in for a temp DATA_DIR`);
      return;
    }
    const started = Date.now();
    const env = { ...options.baseEnv, ...image.env } as Record<string, string>;
    const { code, output } = await run(command, image.hostWorkdir, env, options.runTimeoutMs);
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    if (code !== 0) throw new Error(`line ${instruction.line}: ${label} exited ${code} after ${seconds} s:\n${output.slice(-8_000)}`);
    image.steps.push(`${label}: ran in ${seconds} s`);
  };

  const chain = lineage(dockerfile, stage(dockerfile, options.stage));
  const lineageVolumes = (instruction: Instruction): string[] =>
    chain.find((s) => s.instructions.includes(instruction))!.instructions.filter((i) => i.keyword === 'VOLUME').flatMap((i) => execForm(i.args) ?? words(i.args));
  for (const current of chain) for (const instruction of current.instructions) await apply(instruction);
  return image;
}
