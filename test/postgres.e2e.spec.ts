/**
 * The service end to end on PostgreSQL (EVENT_STORE=postgres): commands, the views (local SQLite following the
 * shared log) and history work unchanged, and survive the server going away and coming back. Runs against
 * POSTGRES_URL or a private server (test/harness/postgres.ts); skipped with the reason printed otherwise.
 * The fail-fast start-up with an unreachable server needs no server and always runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printSkip, resolvePostgres, type PostgresResolution } from '#harness/postgres';
import { OrchestratorClient } from './harness/client.js';
import { endsOnceUnderConcurrency } from './harness/end-once.js';
import { MAIN, removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';

const PASSWORD = 'pg-e2e-Password-Not-To-Be-Logged';

const start = (env: Record<string, string>) => {
  const dataDir = tempDataDir();
  const run = spawnSync(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      PORT: '0',
      PLATFORM_TOKEN: 'pg-e2e-platform-token-R7q2Xk9abc',
      SECURITY_USER_SIGNING_KEY: 'pg-e2e-signing-key-that-is-32-bytes-or-more',
      EVENT_STORE: 'postgres',
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  removeDataDir(dataDir);
  return run;
};

describe('start-up on EVENT_STORE=postgres with the server down or misconfigured', () => {
  it('fails fast naming POSTGRES_URL, its password masked', () => {
    const run = start({ POSTGRES_URL: `postgresql://svc:${PASSWORD}@127.0.0.1:1/events`, STORE_TIMEOUT_MS: '2000' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('PostgreSQL is not reachable or its schema cannot be prepared at POSTGRES_URL');
    expect(run.stderr).toContain('postgresql://svc:***@127.0.0.1:1/events');
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it.each([
    [{}, 'POSTGRES_URL'],
    [{ POSTGRES_URL: 'http://db/events' }, 'POSTGRES_URL'],
    [
      { POSTGRES_URL: 'postgresql://db/events', POSTGRES_PASSWORD_FILE: '/nonexistent/password' },
      'POSTGRES_PASSWORD_FILE',
    ],
  ])('%j stops the service with exit 78 naming %s', (env, variable) => {
    const run = start(env);
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(variable);
  });
});

describe('the service on PostgreSQL', () => {
  let postgres: PostgresResolution & { kind: 'ready' };
  let service: ServiceProcess | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    const resolved = await resolvePostgres();
    if (resolved.kind === 'skipped') {
      skip = resolved.reason;
      printSkip('service on PostgreSQL (e2e)', resolved.reason);
      return;
    }
    postgres = resolved;
    // The password travels in a file; a server on trust authentication does not ask for it, the service must not log it.
    const url = new URL(await postgres.database('e2e'));
    url.username = 'postgres';
    const dataDir = tempDataDir();
    writeFileSync(join(dataDir, 'pg-password'), `${PASSWORD}\n`, { mode: 0o600 });
    service = await startServiceProcess({
      dataDir,
      env: {
        EVENT_STORE: 'postgres',
        POSTGRES_URL: url.toString(),
        POSTGRES_PASSWORD_FILE: join(dataDir, 'pg-password'),
      },
    });
  });
  afterAll(async () => {
    await service?.stop();
    if (service) removeDataDir(service.dataDir);
    await postgres?.stop();
  });

  const endOne = async (api: OrchestratorClient, prefix: string) => {
    const businessUnitId = `${prefix}-${Date.now()}`;
    const bu = await api.seedBusinessUnit(businessUnitId);
    const contactId = await api.startContact(businessUnitId, 'Chat');
    return { bu, contactId };
  };

  it('starts and ends a contact once under concurrency, with history and views, the log kept in PostgreSQL', async (ctx) => {
    if (skip) ctx.skip(skip);
    const api = new OrchestratorClient(service!.url, service!.platformToken);
    await endsOnceUnderConcurrency(api, 'pg');
    expect(existsSync(join(service!.dataDir, 'events.db'))).toBe(false);
    expect(service!.output()).toContain('event store: PostgreSQL');
    expect(service!.output()).not.toContain(PASSWORD);
  });

  it('keeps running while the server is away for 20 s, and its views follow again once it is back', async (ctx) => {
    if (skip) ctx.skip(skip);
    if (!postgres.server) ctx.skip('POSTGRES_URL names a server this test cannot stop');
    const api = new OrchestratorClient(service!.url, service!.platformToken);
    const before = await endOne(api, 'pg-outage');
    await postgres.server!.stop();
    const outageStarted = Date.now();
    // Away for 20 s: every command is refused as unavailable (503), and the service keeps running.
    while (Date.now() - outageStarted < 20_000) {
      expect((await api.endContact(before.contactId, before.bu.ender)).status).toBe(503);
      expect(service!.child.exitCode).toBeNull();
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await postgres.server!.start();
    // Back: the command path reconnects, and the views thread resubscribes after its checkpoint.
    await expect
      .poll(async () => (await api.endContact(before.contactId, before.bu.ender)).status, {
        timeout: 15_000,
        interval: 250,
      })
      .toBe(200);
    await expect
      .poll(async () => (await api.request<{ state?: string }>('GET', `/v1/contacts/${before.contactId}`)).body.state, {
        timeout: 15_000,
        interval: 250,
      })
      .toBe('Ended');
    const after = await endOne(api, 'pg-after');
    expect((await api.endContact(after.contactId, after.bu.ender)).status).toBe(200);
    expect((await api.request('GET', `/v1/contacts/${after.contactId}`)).body).toMatchObject({ state: 'Ended' });
  }, 90_000);
});
