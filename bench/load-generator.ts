/**
 * The load generator of the HTTP rows: autocannon in this process (keep-alive connections, HDR latency
 * histograms, cheap enough to leave a core to the server on a 2-core machine), and the bare-route baseline in a
 * process of its own.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { defer } from './support.js';

export interface LoadSpec {
  url: string;
  connections: number;
  /** Upper bound on the run's length. */
  seconds: number;
  /** Upper bound on requests sent (autocannon splits it across connections); the run stops at whichever comes first. */
  maxRequests?: number;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  /** Path (and optionally body) of request number i, counted from 0 across all connections. */
  request: (i: number) => { path: string; body?: string };
}

export interface LoadResult {
  seconds: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  /** Connection errors and timeouts: requests that got no answer. */
  failed: number;
  /** Requests set up (`spec.request` calls), answered or not: the next one would have been `spec.request(sent)`. */
  sent: number;
  /** Latency of every answer, whatever its status (ms; autocannon's histogram resolution). */
  p50: number;
  p99: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    ...(spec.maxRequests !== undefined ? { maxOverallRequests: spec.maxRequests } : {}),
    timeout: 30,
    headers: spec.headers,
    requests: [
      {
        method: spec.method,
        setupRequest: (request) => {
          const { path, body } = spec.request(next++);
          return { ...request, path, ...(body !== undefined ? { body } : {}) };
        },
      },
    ],
  });
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat?.count ?? 0;
  return {
    seconds: result.duration,
    statuses,
    failed: result.errors + result.timeouts,
    sent: next,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

export const answersOtherThan = (result: LoadResult, status: number): number =>
  Object.entries(result.statuses).reduce((sum, [code, count]) => (code === String(status) ? sum : sum + count), 0) +
  result.failed;

/** Starts bench/bare-route.js as a child; stop() ends it (also registered for Ctrl-C). */
export async function startBareRoute(): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'bare-route.js');
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  let output = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bare route did not listen within 15 s: ${output}`)), 15_000);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const match = /^BARE_URL=(\S+)$/m.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      void exited.then(() => reject(new Error(`the bare route exited before listening: ${output}`)));
    });
    return { url, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
