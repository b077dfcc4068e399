// Finds a real PostgreSQL for integration tests (docs/design.md, Real components in tests), in this order:
//   1. POSTGRES_URL env                                  -> source 'env'     (never stopped by us)
//   2. a private server: initdb into a temp dir, started on 127.0.0.1 on a free port (its socket in the temp dir),
//      as the `postgres` user when this runs as root (initdb refuses root) -> source 'private', removed at stop()
//   3. { kind: 'skipped', reason } naming why; POSTGRES_REQUIRED=1 turns that into an error so CI cannot go green
//      on skipped PostgreSQL suites.
// One resolution per process (cached on globalThis); each suite asks for a database of its own (database()).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './service.js';
import { printSkip } from './skip.js';

export { printSkip };

export type PostgresResolution =
  | {
      kind: 'ready';
      /** The server's URL, its maintenance database (`postgres`). */
      url: string;
      source: 'env' | 'private';
      /** The private server itself (stop and start it to test an outage); undefined for a borrowed one. */
      server: PrivateServer | undefined;
      /** A new, empty database for one suite, and its URL. */
      database(prefix: string): Promise<string>;
      /** Releases what this process started; a no-op for a server it only borrowed. Safe to call twice. */
      stop(): Promise<void>;
    }
  | { kind: 'skipped'; reason: string };

const CACHE = Symbol.for('contact-orchestrator.test.postgres-resolution');
type Cached = { [CACHE]?: Promise<PostgresResolution> };
const cache = globalThis as Cached;
const STARTUP_TIMEOUT_MS = 30_000;

export function resolvePostgres(): Promise<PostgresResolution> {
  cache[CACHE] ??= resolveUncached().then((resolution) => {
    if (resolution.kind === 'skipped' && process.env.POSTGRES_REQUIRED === '1')
      throw new Error(`POSTGRES_REQUIRED=1 but no PostgreSQL is available: ${resolution.reason}`);
    return resolution;
  });
  return cache[CACHE];
}

async function resolveUncached(): Promise<PostgresResolution> {
  const fromEnv = process.env.POSTGRES_URL?.trim();
  if (fromEnv) return ready(fromEnv, 'env', undefined);
  const bin = postgresBinaries();
  if (!bin) return { kind: 'skipped', reason: 'no POSTGRES_URL, and no initdb under /usr/lib/postgresql/*/bin' };
  sweepAbandonedServers();
  try {
    const server = new PrivateServer(bin);
    await server.start();
    return ready(server.url('postgres'), 'private', server);
  } catch (error) {
    return {
      kind: 'skipped',
      reason: `no POSTGRES_URL, and a private server (${bin}) did not start: ${(error as Error).message}`,
    };
  }
}

function ready(url: string, source: 'env' | 'private', server: PrivateServer | undefined): PostgresResolution {
  return {
    kind: 'ready',
    url,
    source,
    server,
    database: async (prefix) => {
      const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const target = new URL(url);
      target.pathname = `/${name}`;
      return target.toString();
    },
    stop: async () => server?.remove(),
  };
}

/** The newest PostgreSQL's bin directory among Debian's (/usr/lib/postgresql/<major>/bin), or undefined. */
export function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((major) => existsSync(join(root, major, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin');
}

/**
 * A PostgreSQL cluster of this test process: its data and socket in a temp dir, listening on 127.0.0.1 only, trust
 * authentication (nothing else can reach it), fsync off (a test server loses nothing that matters). stop() and start()
 * keep the data and the port, so a test can take the server away and bring it back.
 */
export class PrivateServer {
  readonly dir = mkdtempSync(join(tmpdir(), PREFIX));
  private readonly data = join(this.dir, 'data');
  private readonly asPostgres = userInfo().uid === 0;
  private port = 0;
  private child: ChildProcess | undefined;
  private exitHook: (() => void) | undefined;

  constructor(private readonly bin: string) {
    writeFileSync(join(this.dir, OWNER), String(process.pid));
  }

  url(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    if (!existsSync(this.data)) this.initdb();
    this.port ||= await freePort();
    const args = [
      '-D',
      this.data,
      '-p',
      String(this.port),
      '-k',
      this.dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ];
    const child = this.run(join(this.bin, 'postgres'), args);
    this.child = child;
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2_000)));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`postgres exited (${code}): ${output.trim()}`))),
    );
    exited.catch(() => undefined);
    this.exitHook ??= () => this.killNow();
    process.once('exit', this.exitHook);
    await Promise.race([this.waitReady(), exited]);
  }

  /** A fast shutdown (SIGINT): open connections are cut, as when the server goes away. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    this.signal('SIGINT');
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop();
    if (this.exitHook) process.off('exit', this.exitHook);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private initdb(): void {
    if (this.asPostgres) chownSync(this.dir, ...postgresIds());
    const result = this.runSync(join(this.bin, 'initdb'), [
      '-D',
      this.data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
    if (result.status !== 0) throw new Error(`initdb failed: ${result.stderr.toString().trim()}`);
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      const client = new pg.Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: 1_000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`not ready within ${STARTUP_TIMEOUT_MS} ms: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /** The postmaster's own pid (runuser stands between it and this process when run as root). */
  private signal(signal: NodeJS.Signals): void {
    try {
      const pid = Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, signal);
    } catch {
      // Not started, or already gone.
    }
  }

  private killNow(): void {
    this.signal('SIGQUIT');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(command: string, args: string[]): ChildProcess {
    return this.asPostgres
      ? spawn('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  private runSync(command: string, args: string[]) {
    return this.asPostgres
      ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args])
      : spawnSync(command, args);
  }
}

const PREFIX = 'co-postgres-';
/** The test process that made a server's dir: when it is gone (killed before its teardown), so is the server. */
const OWNER = 'owner.pid';

/**
 * Servers whose test process was killed before its teardown (a timeout, ^C): stopped (SIGQUIT) and removed. Only
 * this harness's dirs are looked at (their owner.pid), and only those whose owner is no longer running.
 */
function sweepAbandonedServers(): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX))) {
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, OWNER), 'utf8'));
      if (!(owner > 0) || isRunning(owner)) continue;
      const postmaster = join(dir, 'data', 'postmaster.pid');
      if (existsSync(postmaster)) {
        const pid = Number(readFileSync(postmaster, 'utf8').split('\n')[0]);
        if (pid > 0 && isRunning(pid)) process.kill(pid, 'SIGQUIT');
      }
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Not one of ours, or another process is sweeping it.
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function postgresIds(): [number, number] {
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres']).stdout.toString().trim());
  const uid = id('-u');
  if (!Number.isInteger(uid) || uid <= 0)
    throw new Error('running as root, and there is no `postgres` user to run the server');
  return [uid, id('-g')];
}
