/**
 * The service end to end on EventStoreDB: commands, projections, the directory and history work unchanged.
 * Runs against ESDB_CONNECTION_STRING or a testcontainers EventStoreDB; skipped here with the reason printed.
 * The fail-fast start-up with an unreachable server needs no server and always runs, and so does the service over
 * the fake gRPC server (#event-store/testing): what the adapter does not offer, the service does not use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeEsdb } from '#event-store/testing';
import { OrchestratorClient } from './harness/client.js';
import { endsOnceUnderConcurrency } from './harness/end-once.js';
import { printSkip, resolveEsdb } from './harness/index.js';
import { MAIN, removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';

const esdbEnv = (connectionString: string) => ({
  EVENT_STORE: 'esdb',
  ESDB_CONNECTION_STRING: connectionString,
  SECURITY_USER_SIGNING_KEY: 'esdb-e2e-signing-key-that-is-32-bytes-or-more',
});

const start = (connectionString: string) => {
  const dataDir = tempDataDir();
  const run = spawnSync(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      PORT: '0',
      PLATFORM_TOKEN: 'esdb-e2e-platform-token-R7q2Xk9',
      ...esdbEnv(connectionString),
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  removeDataDir(dataDir);
  return run;
};

describe('start-up on EVENT_STORE=esdb with the server down', () => {
  it.each(['esdb://127.0.0.1:1?tls=false', 'kurrentdb://127.0.0.1:1?tls=false', 'kdb://127.0.0.1:1?tls=false'])(
    '%s is used (the server is asked), and start-up fails fast with a message naming ESDB_CONNECTION_STRING',
    (connectionString) => {
      const run = start(connectionString);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('EventStoreDB is not reachable at ESDB_CONNECTION_STRING');
    },
  );

  it.each([
    'kurrentdb://',
    'kdb://127.0.0.1:abc',
    'esdb://127.0.0.1:1?tlsVerifyCert=false',
    'kurrentdb://127.0.0.1:1?tls',
  ])(
    'a connection string the client cannot use (%s) stops the service with exit 78 naming ESDB_CONNECTION_STRING',
    (connectionString) => {
      const run = start(connectionString);
      expect(run.status).toBe(78);
      expect(run.stderr).toContain('ESDB_CONNECTION_STRING');
    },
  );
});

describe('the service on EventStoreDB', () => {
  let service: ServiceProcess | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    const esdb = await resolveEsdb();
    if (esdb.kind === 'skipped') {
      skip = esdb.reason;
      printSkip('service on EventStoreDB (e2e)', esdb.reason);
      return;
    }
    service = await startServiceProcess({ env: esdbEnv(esdb.connectionString) });
  });
  afterAll(async () => {
    await service?.stop();
    if (service) removeDataDir(service.dataDir);
  });

  it('ends a contact once under concurrency, with history and views', async (ctx) => {
    if (skip) ctx.skip(skip);
    const api = new OrchestratorClient(service!.url, service!.platformToken);
    const { bu, contactId } = await endsOnceUnderConcurrency(api, 'esdb');
    expect((await api.endContact(contactId, bu.viewer)).status).toBe(403);
  });
});

describe('the service over the fake EventStoreDB gRPC server', () => {
  let fake: FakeEsdb;
  let service: ServiceProcess;

  beforeAll(async () => {
    fake = await FakeEsdb.start();
    // A secrets.json left open to others: the embedded store would refuse to start on it (secrets-at-rest.e2e).
    const dataDir = tempDataDir();
    writeFileSync(join(dataDir, 'secrets.json'), '{}', { mode: 0o644 });
    service = await startServiceProcess({ dataDir, env: esdbEnv(fake.connectionString()) });
  });
  afterAll(async () => {
    await service?.stop();
    if (service) removeDataDir(service.dataDir);
    await fake?.stop();
  });

  it('keeps no secrets in DATA_DIR, reads the views through the server, and reports no lag in events', async () => {
    // The secrets are the environment's: DATA_DIR's secrets.json is not read (it started), and no log is kept there.
    expect(existsSync(join(service.dataDir, 'events.db'))).toBe(false);
    const api = new OrchestratorClient(service.url, service.platformToken);
    const businessUnitId = `fake-esdb-${Date.now()}`;
    const bu = await api.seedBusinessUnit(businessUnitId);
    const contactId = await api.startContact(businessUnitId, 'Chat');
    expect((await api.endContact(contactId, bu.ender)).status).toBe(200);
    // The views thread follows the fake server's $all with its own client.
    expect((await api.request('GET', `/v1/contacts/${contactId}`)).body).toMatchObject({ state: 'Ended' });
    await expect
      .poll(async () => (await api.request<string>('GET', '/metrics')).body.split('\n'), {
        timeout: 5_000,
        interval: 50,
      })
      .toContain('contact_orchestrator_subscription_caught_up{subscription="contact-view"} 1');
    // An EventStoreDB position is a pair of log offsets, not a count of events: no lag gauge.
    const scrape = (await api.request<string>('GET', '/metrics')).body;
    expect(scrape).not.toContain('contact_orchestrator_subscription_lag');
  });
});
