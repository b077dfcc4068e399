/**
 * Durability end to end: the service is SIGKILLed while ending contacts and restarted on the same DATA_DIR.
 * Every end answered 200 must still be Ended, and the view must agree with the event log. Then a rebuild from
 * position 0 must produce the same view as the live one.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { viewsFileIn } from '#projections';
import { afterAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { caughtUp } from './harness/views.js';
import { removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';

const dataDir = tempDataDir('co-crash-');
const platformToken = 'crash-test-platform-token';
let service: ServiceProcess | undefined;

afterAll(async () => {
  await service?.stop();
  removeDataDir(dataDir);
});

function eventLogStates(): Map<string, 'Active' | 'Ended'> {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    const rows = db
      .prepare(`SELECT type, data FROM events WHERE stream_id LIKE 'contact-%' ORDER BY position`)
      .all() as Array<{ type: string; data: string }>;
    const states = new Map<string, 'Active' | 'Ended'>();
    for (const row of rows) {
      const { contactId } = JSON.parse(row.data) as { contactId: string };
      states.set(contactId, row.type === 'ContactEnded' ? 'Ended' : 'Active');
    }
    return states;
  } finally {
    db.close();
  }
}

function viewRows(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    return {
      contacts: db.prepare('SELECT * FROM contacts ORDER BY contact_id').all(),
      history: db
        .prepare('SELECT contact_id, type, data, metadata, position, recorded_at FROM contact_history ORDER BY seq')
        .all(),
    };
  } finally {
    db.close();
  }
}

describe('crash recovery on the embedded store', () => {
  const answered200 = new Set<string>();
  let contactIds: string[] = [];

  it('keeps every answered end after SIGKILL, and the restarted view agrees with the event log', async () => {
    service = await startServiceProcess({ dataDir, platformToken });
    let api = new OrchestratorClient(service.url, platformToken);
    const bu = await api.seedBusinessUnit('crash-bu');
    contactIds = [];
    for (let i = 0; i < 150; i++) contactIds.push(await api.startContact('crash-bu', i % 2 ? 'Phone' : 'Chat'));

    // End contacts 8 at a time; kill the process once 40 were answered, with requests still in flight.
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (next < contactIds.length && !killed) {
        const id = contactIds[next++]!;
        try {
          const answer = await api.endContact(id, bu.ender);
          if (answer.status === 200) answered200.add(id);
          if (answered200.size >= 40 && !killed) {
            killed = true;
            await service!.kill();
          }
        } catch {
          // The connection died with the process: the answer was never received, so nothing is promised.
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(killed).toBe(true);
    expect(answered200.size).toBeGreaterThanOrEqual(40);

    service = await startServiceProcess({ dataDir, platformToken });
    api = new OrchestratorClient(service.url, platformToken);
    await caughtUp(api);
    for (const id of answered200) {
      const view = await api.request<{ state: string }>('GET', `/v1/contacts/${id}`);
      expect(view.body.state, `contact ${id} was answered 200`).toBe('Ended');
    }
    const log = eventLogStates();
    const listed = await api.request<{ items: Array<{ contactId: string; state: string }> }>(
      'GET',
      '/v1/contacts?limit=1000',
    );
    expect(listed.body.items).toHaveLength(log.size);
    for (const item of listed.body.items) expect(item.state, `contact ${item.contactId}`).toBe(log.get(item.contactId));
    // The service still works after the crash: the unanswered ones can be ended now.
    const pending = contactIds.find((id) => log.get(id) === 'Active')!;
    expect((await api.endContact(pending, await api.securityUser(bu.enderId))).status).toBe(200);
    expect(await service.stop()).toBe(0);
    service = undefined;
  });

  it('a rebuild from position 0 produces the same view as the live one', () => {
    const live = viewRows(viewsFileIn(dataDir));
    const rebuilt = join(dataDir, 'rebuilt-views.db');
    const output = execFileSync(process.execPath, ['dist/scripts/rebuild-views.js', rebuilt], {
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    expect(output).toMatch(/rebuilt .* from position 0 to \d+/);
    const fresh = viewRows(rebuilt);
    expect(fresh.contacts!.length).toBeGreaterThanOrEqual(150);
    expect(fresh).toEqual(live);
  });
});
