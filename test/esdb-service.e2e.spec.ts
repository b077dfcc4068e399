/**
 * The service end to end on EventStoreDB: commands, projections, the directory and history work unchanged.
 * Runs against ESDB_CONNECTION_STRING or a testcontainers EventStoreDB; skipped here with the reason printed.
 * The fail-fast start-up with an unreachable server needs no server and always runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { OrchestratorClient } from './harness/client.js';
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
    const businessUnitId = `esdb-${Date.now()}`;
    const bu = await api.seedBusinessUnit(businessUnitId);
    const contactId = await api.startContact(businessUnitId, 'Chat');
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.endContact(contactId, bu.ender)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(9);
    const view = await api.request('GET', `/v1/contacts/${contactId}`);
    expect(view.body).toMatchObject({ state: 'Ended' });
    const history = await api.request<{ events: Array<{ type: string }> }>('GET', `/v1/contacts/${contactId}/history`);
    expect(history.body.events.filter((e) => e.type === 'ContactEnded')).toHaveLength(1);
    expect((await api.endContact(contactId, bu.viewer)).status).toBe(403);
  });
});
