/**
 * A worker thread of the service that stops without being asked to (docs/decisions.md, Storage; docs/operations.md,
 * A worker thread dies): /health answers 503 naming it, commands that need it answer 503, the rebuild is not left `swapping`,
 * graceful shutdown still completes at once, and the process then exits 70 so that its supervisor restarts it.
 *
 * In-process, the real app (startService) on the real SQLite store, with the thread terminated from outside its
 * API; then the real service process, its writer thread terminated by a test-only preload
 * (test/harness/terminate-writer-on-sigusr2.mjs), and started again on the same DATA_DIR.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../apps/orchestrator/src/bootstrap.js';
import { EVENT_STORE } from '../apps/orchestrator/src/infrastructure/tokens.js';
import { ViewsService } from '../apps/orchestrator/src/read-side/views.service.js';
import { OrchestratorClient, type Answer } from './harness/client.js';
import { startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';
import { waitFor } from './harness/suites.js';
import { settlesWithin } from '#runtime';

type HealthBody = { status: string; error?: Record<string, { status: string; message?: string; error?: string }> };

/** A thread of the running app, reached as a crash would reach it: from outside the store's or the host's API. */
const writerOf = (service: RunningService): Worker => service.app.get<unknown, { worker: Worker }>(EVENT_STORE).worker;
const viewsWorkerOf = (service: RunningService): Worker =>
  service.app.get<unknown, { host: { worker: Worker } }>(ViewsService).host.worker;

describe('a worker thread stopped, in the running app', () => {
  let dataDir: string;
  let service: RunningService | undefined;

  const start = async (): Promise<OrchestratorClient> => {
    dataDir = tempDataDir('co-worker-stopped-');
    const platformToken = randomBytes(18).toString('base64url');
    service = await startService({
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      PLATFORM_TOKEN: platformToken,
      SECURITY_USER_SIGNING_KEY: 'e2e-signing-key-that-is-at-least-32-bytes-long',
      LOG_LEVEL: 'silent',
    });
    return new OrchestratorClient(service.url, platformToken);
  };

  afterEach(async () => {
    if (service) await settlesWithin(service.close(), 10_000);
    service = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const unhealthy = (client: OrchestratorClient): Promise<Answer<HealthBody>> =>
    waitFor(
      async () => {
        const answer = await client.request<HealthBody>('GET', '/health');
        return answer.status === 503 ? answer : undefined;
      },
      10_000,
      '/health to answer 503',
    );

  it('the SQLite writer: /health 503 naming it, commands 503, workerStopped names it, and close() completes', async () => {
    const client = await start();
    const contactId = await client.startContact('bu-1', 'Chat');
    expect((await client.request('GET', '/health', { token: null })).status).toBe(200);

    await writerOf(service!).terminate();

    const health = await unhealthy(client);
    // The store's check throws, and its report is the whole answer (as for an unreachable EventStoreDB).
    expect((health.body as { eventStore?: unknown }).eventStore).toMatchObject({
      status: 'down',
      message: expect.stringMatching(/SQLite writer stopped/),
    });
    // Without a credential (a load balancer's probe): the same 503, and nothing of the report (docs/security.md).
    const probe = await client.request('GET', '/health', { token: null });
    expect(probe.status).toBe(503);
    expect(probe.body).toEqual({ status: 'error' });
    const refused = await client.request('POST', '/v1/contacts', {
      body: { businessUnitId: 'bu-1', mediaType: 'Chat' },
    });
    expect(refused.status).toBe(503);
    expect(await service!.workerStopped).toMatch(/SQLite writer stopped/);
    // What was written is still read.
    expect((await client.request('GET', `/v1/contacts/${contactId}`)).status).toBe(200);
    expect(await settlesWithin(service!.close(), 10_000)).toBe(true);
    service = undefined;
  });

  it('the views worker: /health 503 naming it, a rebuild fails instead of staying swapping, and close() completes', async () => {
    const client = await start();
    await client.startContact('bu-1', 'Chat');

    await viewsWorkerOf(service!).terminate();

    const health = await unhealthy(client);
    const views = Object.values(health.body.error ?? {}).filter((check) => check.error !== undefined);
    expect(views.length).toBeGreaterThan(0);
    for (const check of views)
      expect(check).toMatchObject({ status: 'down', error: expect.stringMatching(/views worker (stopped|exited)/) });
    // Twice: the first rebuild must not stay `swapping` (every later one would be 409 until a restart).
    for (let i = 0; i < 2; i++) {
      const rebuild = await client.request<{ state: string; error?: string }>('POST', '/v1/admin/views/rebuild');
      expect(rebuild.status).toBe(202);
      expect(rebuild.body).toMatchObject({ state: 'failed', error: expect.stringMatching(/views worker stopped/) });
    }
    expect(await service!.workerStopped).toMatch(/views worker stopped/);
    expect(await settlesWithin(service!.close(), 10_000)).toBe(true);
    service = undefined;
  });
});

describe('a worker thread stopped, in the service process', () => {
  let dataDir: string | undefined;
  let running: ServiceProcess | undefined;

  afterEach(async () => {
    await running?.kill();
    running = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shuts down gracefully and exits 70 at once; started again on the same DATA_DIR it has everything written', async () => {
    dataDir = tempDataDir('co-worker-stopped-process-');
    const fault = pathToFileURL(join(import.meta.dirname, 'harness', 'terminate-writer-on-sigusr2.mjs')).href;
    running = await startServiceProcess({ dataDir, nodeArgs: ['--import', fault] });
    const client = new OrchestratorClient(running.url, running.platformToken);
    const contactId = await client.startContact('bu-1', 'Chat');
    const exited = new Promise<number | null>((resolve) => running!.child.once('exit', (code) => resolve(code)));
    const killedAt = Date.now();

    running.child.kill('SIGUSR2');

    // Well inside the 30 s forced exit (SHUTDOWN_GRACE_MS): nothing waits for the thread that is gone.
    expect(await settlesWithin(exited, 15_000)).toBe(true);
    expect(await exited).toBe(70);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    const output = running.output();
    expect(output).toMatch(/SQLite writer stopped[^\n]*exiting with 70 so that the supervisor restarts the service/);
    expect(output).toContain('stopped: in-flight commands finished, stores closed');
    expect(output).not.toContain('shutdown took longer');

    // The supervisor's part: the same DATA_DIR, started again, is healthy and has what was written.
    running = await startServiceProcess({ dataDir, platformToken: running.platformToken });
    const again = new OrchestratorClient(running.url, running.platformToken);
    await waitFor(
      async () => (await again.request('GET', '/health', { token: null })).status === 200,
      10_000,
      '/health 200 after the restart',
    );
    expect((await again.request<{ state: string }>('GET', `/v1/contacts/${contactId}`)).body).toMatchObject({
      state: 'Active',
    });
    expect(await running.stop()).toBe(0);
  });
});
