/**
 * The service as an operator meets it: configuration refused at start naming the variable, the embedded
 * platform token generated and printed once, graceful shutdown (in-flight commands finish, SQLite closes
 * cleanly), and the bound on recorded anonymous refusals.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { holdWriteLock } from './harness/lock-holder.js';
import { MAIN, removeDataDir, startServiceProcess, tempDataDir } from './harness/service.js';
import { connectionRefused, sendRequest, unreadOnPort } from './harness/sockets.js';

describe('start-up', () => {
  it.each([
    ['PORT', 'not-a-port'],
    ['EVENT_STORE', 'mongodb'],
    ['KAFKA_BROKERS', 'no-port-here'],
    ['LOG_LEVEL', 'shouty'],
  ])('a wrong %s stops the service with a message naming it', (variable, value) => {
    const dataDir = tempDataDir();
    const run = spawnSync(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, [variable]: value },
      encoding: 'utf8',
      timeout: 20_000,
    });
    removeDataDir(dataDir);
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(`Invalid configuration: ${variable}`);
  });

  it('with KAFKA_BROKERS set and no broker answering, fails fast naming KAFKA_BROKERS', () => {
    const dataDir = tempDataDir();
    const run = spawnSync(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', KAFKA_BROKERS: '127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    removeDataDir(dataDir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('contact-orchestrator failed to start: Kafka is not reachable at KAFKA_BROKERS');
  });

  it('a DATA_DIR that is a file stops the service naming DATA_DIR', () => {
    const dataDir = tempDataDir();
    const file = join(dataDir, 'not-a-directory');
    writeFileSync(file, '');
    const run = spawnSync(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: file },
      encoding: 'utf8',
      timeout: 20_000,
    });
    removeDataDir(dataDir);
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('Invalid configuration: DATA_DIR');
  });

  it('a token given once in the environment does not erase the stored one', async () => {
    const dataDir = tempDataDir();
    try {
      const env = { PLATFORM_TOKEN: '', SECURITY_USER_SIGNING_KEY: '' };
      await (await startServiceProcess({ dataDir, env })).stop();
      const before = readFileSync(join(dataDir, 'secrets.json'), 'utf8');
      await (
        await startServiceProcess({ dataDir, env: { ...env, PLATFORM_TOKEN: 'given-once-platform-token' } })
      ).stop();
      expect(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).toBe(before);
    } finally {
      removeDataDir(dataDir);
    }
  });

  it('in embedded mode generates the platform token once, prints it once, and keeps it under DATA_DIR', async () => {
    const dataDir = tempDataDir();
    try {
      const env = { PLATFORM_TOKEN: '', SECURITY_USER_SIGNING_KEY: '' };
      const first = await startServiceProcess({ dataDir, env });
      const printed = /PLATFORM_TOKEN=(\S+)/.exec(first.output())?.[1];
      await first.stop();
      const secretsFile = join(dataDir, 'secrets.json');
      const stored = JSON.parse(readFileSync(secretsFile, 'utf8')) as {
        platformToken: string;
        securityUserSigningKey: string;
      };
      expect(printed).toBe(stored.platformToken);
      expect(stored.securityUserSigningKey.length).toBeGreaterThanOrEqual(32);
      expect(statSync(secretsFile).mode & 0o777).toBe(0o600);

      const second = await startServiceProcess({ dataDir, env });
      expect(second.output()).not.toContain('PLATFORM_TOKEN=');
      const api = new OrchestratorClient(second.url, stored.platformToken);
      expect((await api.putProfile('p', ['Contacts.View'])).status).toBe(200);
      await second.stop();
    } finally {
      removeDataDir(dataDir);
    }
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM lets every command already received finish and answer 200, refuses later ones with nothing written, closes SQLite cleanly and exits 0', async () => {
    // Another process holds the write lock on events.db, so the 40 ends are received and wait in the service (not on
    // the client) when SIGTERM arrives; the lock is released once a later request is refused. STORE_TIMEOUT_MS
    // outlasts the hold.
    const service = await startServiceProcess({ env: { STORE_TIMEOUT_MS: '20000' } });
    try {
      const api = new OrchestratorClient(service.url, service.platformToken);
      const port = Number(new URL(service.url).port);
      const bu = await api.seedBusinessUnit('shutdown-bu');
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(await api.startContact('shutdown-bu', 'Voicemail'));
      const late = await api.startContact('shutdown-bu', 'Voicemail');
      const lock = await holdWriteLock(join(service.dataDir, 'events.db'));
      const inFlight = ids.map((id) =>
        sendRequest(service.url, 'POST', `/v1/contacts/${id}/end`, { authorization: `Bearer ${bu.ender}` }),
      );
      await Promise.all(inFlight.map((request) => request.written));
      // Received: every byte sent is read by the service (parsed, so the request is in flight there).
      await vi.waitFor(
        () => {
          const sockets = unreadOnPort(port);
          expect(sockets.connections).toBeGreaterThanOrEqual(ids.length);
          expect(sockets.unreadBytes).toBe(0);
        },
        { timeout: 10_000, interval: 20 },
      );
      const exit = service.stop();
      // No new requests: the listener is closed (while the 40 still wait on the lock).
      await vi.waitFor(async () => expect(await connectionRefused(port)).toBe(true), { timeout: 10_000, interval: 20 });
      const after = await api.endContact(late, bu.ender).then(
        (a) => a.status,
        () => 'connection refused',
      );
      await lock.release();
      const answers = await Promise.all(inFlight.map((request) => request.answer));
      expect(await exit).toBe(0);
      expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200));
      expect([503, 'connection refused']).toContain(after);
      expect(service.output()).toContain('stopped: in-flight commands finished, stores closed');
      // A clean close checkpoints and removes the write-ahead log.
      expect(existsSync(join(service.dataDir, 'events.db-wal'))).toBe(false);
      const db = new Database(join(service.dataDir, 'events.db'), { readonly: true });
      const ended = db
        .prepare(`SELECT json_extract(data, '$.contactId') AS id FROM events WHERE type = 'ContactEnded'`)
        .all() as Array<{ id: string }>;
      db.close();
      // Exactly the 40 received before the stop are ended; the one sent after it wrote nothing.
      expect(ended.map((e) => e.id).sort()).toEqual([...ids].sort());
    } finally {
      await service.stop();
      removeDataDir(service.dataDir);
    }
  });
});

describe('anonymous refusals are bounded per client address', () => {
  it('records the first N a minute, then writes one summary event with the count', async () => {
    const service = await startServiceProcess({ env: { ANONYMOUS_REFUSALS_PER_MINUTE: '3' } });
    try {
      const api = new OrchestratorClient(service.url, service.platformToken);
      const bu = await api.seedBusinessUnit('anon-bu');
      const contactId = await api.startContact('anon-bu', 'Chat');
      for (let i = 0; i < 10; i++) expect((await api.endContact(contactId, null)).status).toBe(401);
      // Authenticated refusals have their own budget per agent (AGENT_REFUSALS_PER_MINUTE, 60).
      for (let i = 0; i < 5; i++) expect((await api.endContact(contactId, bu.viewer)).status).toBe(403);
      const history = await api.request<{ events: Array<{ type: string; data: { reason: string } }> }>(
        'GET',
        `/v1/contacts/${contactId}/history`,
      );
      const reasons = history.body.events.filter((e) => e.type === 'EndContactRejected').map((e) => e.data.reason);
      // Anonymous refusals are in the audit stream only.
      expect(reasons).toEqual(['Unauthorized', 'Unauthorized', 'Unauthorized', 'Unauthorized', 'Unauthorized']);
      expect(await service.stop()).toBe(0);
      const db = new Database(join(service.dataDir, 'events.db'), { readonly: true });
      const anonymous = db
        .prepare(
          `SELECT data FROM events WHERE type = 'EndContactRejected' AND data->>'reason' = 'InvalidSecurityUser'`,
        )
        .all();
      const summaries = db
        .prepare(`SELECT data FROM events WHERE type = 'EndContactRejectionsSuppressed'`)
        .all() as Array<{ data: string }>;
      db.close();
      expect(anonymous).toHaveLength(3);
      // Counts are written every second, so the seven may be split over more than one summary.
      const parsed = summaries.map(
        (s) => JSON.parse(s.data) as { clientAddress: string; count: number; reason: string },
      );
      expect(parsed.every((s) => s.clientAddress === '127.0.0.1' && s.reason === 'InvalidSecurityUser')).toBe(true);
      expect(parsed.reduce((sum, s) => sum + s.count, 0)).toBe(7);
    } finally {
      await service.stop();
      removeDataDir(service.dataDir);
    }
  });
});
