// npm run views:verify (dist/scripts/verify-views.js) against a running service's DATA_DIR (docs/design.md, Audit and replay): `identical`
// on a clean log, also while ends are being written; exit 1 naming the contact after one row of the views is edited.
import Database from 'better-sqlite3';
import { viewsFileIn } from '#projections';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';
import { settledHead, verifyViews } from './harness/views.js';

let service: ServiceProcess;
let client: OrchestratorClient;
let ender = '';
const ids: string[] = [];

/** Edits the views beside the running service, as an operator's sqlite3 shell would. */
function editViews(sql: string, ...params: unknown[]): void {
  const db = new Database(viewsFileIn(service.dataDir));
  try {
    db.pragma('busy_timeout = 5000');
    expect(db.prepare(sql).run(...params).changes).toBe(1);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  service = await startServiceProcess({ env: { RATE_LIMIT_PER_MINUTE: '0' } });
  client = new OrchestratorClient(service.url, service.platformToken);
  ({ ender } = await client.seedBusinessUnit('bu-verify'));
  for (let i = 0; i < 12; i++) {
    ids.push(await client.startContact('bu-verify', i % 2 ? 'Chat' : 'Phone'));
    if (i % 3 === 0) expect((await client.endContact(ids[i]!, ender)).status).toBe(200);
  }
  expect((await client.endContact(ids[0]!, ender)).status).toBe(409);
  await settledHead(client);
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

describe('npm run views:verify', () => {
  it('prints `identical` and exits 0 on a clean log', async () => {
    const run = await verifyViews(service.dataDir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^identical: 12 contacts and \d+ history entries up to position \d+\n$/);
  });

  it('is safe while the service writes: ends under way, still identical, and every end answered', async () => {
    const ending = Promise.all(
      ids
        .filter((_, i) => i % 3 !== 0)
        .slice(0, 6)
        .map((id) => client.endContact(id, ender)),
    );
    const run = await verifyViews(service.dataDir);
    expect((await ending).map((a) => a.status)).toStrictEqual([200, 200, 200, 200, 200, 200]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^identical/);
  });

  it('exits 1 naming the contact after one row of the live contacts is edited', async () => {
    await settledHead(client);
    const target = ids[3]!;
    editViews("UPDATE contacts SET ended_by = 'someone-else' WHERE contact_id = ?", target);
    const run = await verifyViews(service.dataDir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`contact ${target}: ended_by: live "someone-else", log "bu-verify-ender"`);
    expect(run.stdout).not.toMatch(/^identical/m);
    expect(run.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('names the contact whose history lost an entry', async () => {
    const target = ids[6]!;
    editViews("DELETE FROM contact_history WHERE contact_id = ? AND type = 'ContactEnded'", target);
    const run = await verifyViews(service.dataDir);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(`contact ${target}: history: the log has ContactEnded at position \\d+, the live view does not`),
    );
  });
});
