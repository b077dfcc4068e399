/**
 * Runs the real service as a child process (the built dist), on 127.0.0.1 with an OS-chosen port and a temp
 * DATA_DIR, so end-to-end tests drive it over HTTP and can SIGKILL and restart it on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder with a package.json (this file also runs compiled, from dist/). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
export const ROOT = repositoryRoot();
export const MAIN = join(ROOT, 'dist/apps/orchestrator/src/main.js');

export type ServiceProcess = {
  url: string;
  platformToken: string;
  dataDir: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for exit (graceful shutdown). */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit: a crash. */
  kill(): Promise<void>;
};

// Levels at which the service does not print its `listening` line (an info line): readiness is then polled.
const QUIET_LOG_LEVELS = new Set(['warn', 'error', 'fatal', 'silent']);

/** A port free right now on 127.0.0.1 (a tiny race until the child binds it; only used for quiet log levels). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Resolves once anything answers HTTP at `url` (any status: listening is what is asked, not healthy). */
async function answering(url: string, stopped: () => boolean): Promise<string> {
  while (!stopped()) {
    try {
      await (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).arrayBuffer();
      return url;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error('stopped');
}

export function tempDataDir(prefix = 'co-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export type ServiceOptions = {
  dataDir?: string;
  env?: Record<string, string>;
  platformToken?: string;
  /** Another build of the service (e.g. a replayed image's dist) and the folder it runs in. */
  main?: string;
  cwd?: string;
  /** Flags for node itself, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses on Node 20). */
  nodeArgs?: string[];
};

export async function startServiceProcess(options: ServiceOptions = {}): Promise<ServiceProcess> {
  const main = options.main ?? MAIN;
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does it)`);
  const dataDir = options.dataDir ?? tempDataDir();
  const platformToken = options.platformToken ?? randomBytes(18).toString('base64url');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    PLATFORM_TOKEN: platformToken,
    SECURITY_USER_SIGNING_KEY: 'e2e-signing-key-that-is-at-least-32-bytes-long',
    LOG_LEVEL: 'info',
    // As the image (its ENV) and npm start run it: a smaller young generation, less resident memory.
    NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=160',
    ...options.env,
  };
  const quiet = QUIET_LOG_LEVELS.has(env.LOG_LEVEL ?? '');
  if (quiet && env.PORT === '0') env.PORT = String(await freePort());
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), main], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  let settled = false;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start within 30 s:\n${output}`)), 30_000);
    if (quiet) {
      answering(`http://127.0.0.1:${env.PORT}`, () => settled).then(
        (ready) => {
          clearTimeout(timer);
          resolve(ready);
        },
        () => undefined,
      );
    }
    const onData = (): void => {
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*contact-orchestrator listening/.exec(output);
      if (match) {
        clearTimeout(timer);
        // Every request leaves a log line: matching the growing output on each later chunk would cost O(n²).
        child.stdout.off('data', onData);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${output}`));
    });
  })
    .catch((error: unknown) => {
      // A service that never listened must not outlive the caller's failure.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw error;
    })
    .finally(() => (settled = true));

  return {
    url,
    platformToken,
    dataDir,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export function removeDataDir(dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
}
