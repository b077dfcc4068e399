/**
 * Shutdown whatever happens to the log pipe: the service runs with LOG_LEVEL=info and stdout/stderr as
 * pipes; its reader goes away (the reading end closed) or stops reading (the pipe fills up); then SIGTERM.
 * The process must finish its shutdown and exit 0: before the fix, a full pipe blocked the event loop in a
 * synchronous log write, so neither SIGTERM nor the 30 s forced exit could run, and a second SIGTERM did nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAIN, removeDataDir, tempDataDir } from './harness/service.js';
import { unreadOnPort } from './harness/sockets.js';

const EXIT_WITHIN_MS = 15_000;
let child: ChildProcess | undefined;
let dataDir: string | undefined;

afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dataDir) removeDataDir(dataDir);
});

async function started(): Promise<{ url: string; token: string }> {
  dataDir = tempDataDir();
  const token = randomBytes(24).toString('base64url');
  child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      PLATFORM_TOKEN: token,
      SECURITY_USER_SIGNING_KEY: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'info',
      HTTP_REQUEST_TIMEOUT_MS: '600000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (match) resolve(match[1]!);
    });
    child!.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
  return { url, token };
}

/** Many answered requests, each one a log line: far more than a pipe holds (64 KiB). */
async function logLines(url: string, token: string, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < count / 8; i++)
        await (await fetch(`${url}/v1/contacts/1`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    }),
  );
}

function exitOf(process: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const since = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ code: null, ms: performance.now() - since }), EXIT_WITHIN_MS);
    process.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: performance.now() - since });
    });
  });
}

describe('SIGTERM with the log pipe gone', () => {
  it('the reader stopped reading and the pipe is full: shutdown finishes and the process exits 0', async () => {
    const { url, token } = await started();
    child!.stdout!.pause();
    child!.stderr!.pause();
    await logLines(url, token, 2_000);
    const exited = exitOf(child!);
    child!.kill('SIGTERM');
    expect(await exited).toMatchObject({ code: 0 });
  });

  it('the reading end is closed (EPIPE): shutdown finishes and the process exits 0', async () => {
    const { url, token } = await started();
    child!.stdout!.destroy();
    child!.stderr!.destroy();
    await logLines(url, token, 200);
    const exited = exitOf(child!);
    child!.kill('SIGTERM');
    expect(await exited).toMatchObject({ code: 0 });
  });

  it('a shutdown that cannot finish (a request whose body never ends) is ended by the forced exit at 30 s, pipe full', async () => {
    const { url, token } = await started();
    child!.stdout!.pause();
    child!.stderr!.pause();
    await logLines(url, token, 2_000);
    // Half a request: headers promise 100 bytes, 10 arrive; the server waits for the rest and cannot close (the body
    // deadline, HTTP_REQUEST_TIMEOUT_MS, is set past the forced exit for this).
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    await new Promise((resolve) =>
      socket.write(
        `POST /v1/contacts HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"busines`,
        resolve,
      ),
    );
    // The service has read it (headers parsed, waiting for the body): nothing left unread on its side.
    await vi.waitFor(() => expect(unreadOnPort(Number(port)).unreadBytes).toBe(0), { timeout: 10_000, interval: 20 });
    const since = performance.now();
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), 40_000)),
    ]);
    socket.destroy();
    expect(code).toBe(1);
    expect(performance.now() - since).toBeGreaterThan(29_000);
  }, 60_000);
});
