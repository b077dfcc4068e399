/**
 * The service under test, as its own process (test/harness/service.ts, from the built dist), with a directory
 * fit for EndContact (a profile with Contacts.End, an agent, its SecurityUser) and active contacts to end, all
 * set up through the public HTTP API so the bench does not depend on how the service stores them.
 */
import { MEDIA_TYPES } from '#contacts';
import { sleep } from '#runtime';
import { OrchestratorClient } from '../test/harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from '../test/harness/service.js';
import { answersOtherThan, runLoad } from './load-generator.js';
import { defer, formatInt, progress } from './support.js';

export const BUSINESS_UNIT = 'bench-bu';

export interface ServiceUnderTest {
  service: ServiceProcess;
  api: OrchestratorClient;
  securityUser: string;
  stop: () => Promise<void>;
}

/** The environment of every service the bench starts (besides the harness's own, NODE_OPTIONS included). */
export const BENCH_SERVICE_ENV: Readonly<Record<string, string>> = {
  // Anonymous refusals are not what is measured; a bench must never be throttled (RATE_LIMIT_PER_MINUTE=0 is
  // docs/design.md's "off" (Configuration), for when the service reads it).
  ANONYMOUS_REFUSALS_PER_MINUTE: '100000',
  RATE_LIMIT_PER_MINUTE: '0',
  LOG_LEVEL: 'warn',
};

export async function startService(extraEnv: Record<string, string> = {}): Promise<ServiceUnderTest> {
  const service = await startServiceProcess({
    env: { ...BENCH_SERVICE_ENV, ...extraEnv },
    // BENCH_CPU_PROF_DIR=dir: the service writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
    ...(process.env.BENCH_CPU_PROF_DIR
      ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] }
      : {}),
  });
  return withDirectory(service);
}

/** A running service made fit for EndContact through its API (a profile with Contacts.End, an agent, its
 *  SecurityUser); stop() ends it and removes its DATA_DIR. */
export async function withDirectory(service: ServiceProcess): Promise<ServiceUnderTest> {
  const stop = defer(async () => {
    const code = await service.stop();
    if (code !== 0 && code !== null) progress(`service exited with ${code}: ${service.output().slice(-2_000)}`);
    removeDataDir(service.dataDir);
  });
  try {
    const api = new OrchestratorClient(service.url, service.platformToken);
    for (const answer of [
      await api.putProfile('bench-ender', ['Contacts.End', 'Contacts.View']),
      await api.putAgent('bench-agent', BUSINESS_UNIT, 'bench-ender'),
    ]) {
      if (answer.status !== 200)
        throw new Error(`directory setup answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    return { service, api, securityUser: await api.securityUser('bench-agent'), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Decimal contact IDs (CXone style), distinct per run and per purpose. */
export function contactIds(count: number, first: number): string[] {
  return Array.from({ length: count }, (_, i) => String(first + i));
}

/** Registers every contact with POST /v1/contacts at full speed; throws unless each one answered 201. */
export async function registerContacts(
  target: ServiceUnderTest,
  ids: readonly string[],
  connections: number,
): Promise<void> {
  const started = performance.now();
  const result = await runLoad({
    url: target.service.url,
    connections: Math.min(connections, ids.length),
    // Bounded in time as well as count: ~1,000/s would still finish well inside this.
    seconds: Math.max(60, Math.ceil(ids.length / 500)),
    maxRequests: ids.length,
    method: 'POST',
    headers: { authorization: `Bearer ${target.service.platformToken}`, 'content-type': 'application/json' },
    request: (i) => ({
      path: '/v1/contacts',
      body: JSON.stringify({
        businessUnitId: BUSINESS_UNIT,
        mediaType: MEDIA_TYPES[i % MEDIA_TYPES.length],
        skill: `skill-${i % 12}`,
        contactId: ids[i % ids.length],
      }),
    }),
  });
  const created = result.statuses['201'] ?? 0;
  if (created !== ids.length) {
    throw new Error(
      `registering ${ids.length} contacts: ${created} answered 201, ${answersOtherThan(result, 201)} did not (${JSON.stringify(result.statuses)}, ${result.failed} failed)`,
    );
  }
  progress(`registered ${formatInt(ids.length)} contacts in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Waits (bounded) until the views have caught up with the log (see caughtUp: GET /health 200 alone does not say
 *  it), so the measured load does not also pay for projecting the set-up. Goes on with a warning past the bound. */
export async function settle(target: ServiceUnderTest, timeoutMs = 60_000): Promise<void> {
  try {
    await caughtUp(target.service, timeoutMs, () => false, 100);
  } catch (error) {
    progress(`${(error as Error).message}; measuring anyway`);
  }
}

/**
 * Waits until GET /health answers 200 with every view caught up with the log's head (`caughtUp` of each check that
 * has one): 200 alone does not say it, a view behind the log is still `up`. The details need the platform token
 * (without it /health is `{status}` alone). Resolves with the seconds waited; rejects past `timeoutMs`, or at once
 * when `gone()` says the process exited.
 */
export async function caughtUp(
  service: { url: string; platformToken: string },
  timeoutMs: number,
  gone: () => boolean = () => false,
  intervalMs = 50,
): Promise<number> {
  const started = performance.now();
  let last = 'no answer';
  while (performance.now() - started < timeoutMs) {
    if (gone()) throw new Error(`the service exited while waiting for /health (last: ${last})`);
    try {
      const response = await fetch(`${service.url}/health`, {
        headers: { authorization: `Bearer ${service.platformToken}` },
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await response.json()) as {
        details?: Record<string, { caughtUp?: boolean; checkpoint?: string; head?: string }>;
      };
      const behind = Object.entries(body.details ?? {}).filter(([, check]) => check.caughtUp === false);
      if (response.ok && behind.length === 0) return (performance.now() - started) / 1000;
      last = `${response.status}${behind.length > 0 ? `, ${behind[0]![0]} at ${behind[0]![1].checkpoint}/${behind[0]![1].head}` : ''}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`GET /health did not report every view caught up within ${timeoutMs / 1000} s (last: ${last})`);
}
