/** The read side in tests: waiting on it through /health (Vitest's own polling), verifying it, reading it whole. */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, vi } from 'vitest';
import type { OrchestratorClient } from './client.js';
import { ROOT } from './service.js';

type Health = { details?: Record<string, { head?: string; caughtUp?: boolean } | undefined> };

/** The contact view has applied the whole log. */
export async function caughtUp(client: OrchestratorClient, timeout = 10_000): Promise<void> {
  await expect
    .poll(async () => (await client.request<Health>('GET', '/health')).body.details?.['contact-view']?.caughtUp, {
      timeout,
      interval: 50,
    })
    .toBe(true);
}

/** The log head once the contact view has caught up and two reads 100 ms apart agree (nothing still being written). */
export function settledHead(client: OrchestratorClient, timeout = 10_000): Promise<string> {
  let previous: string | undefined;
  return vi.waitFor(
    async () => {
      const view = (await client.request<Health>('GET', '/health')).body.details?.['contact-view'];
      const head = view?.caughtUp ? view.head : undefined;
      const settled = head !== undefined && head === previous;
      previous = head;
      if (!settled) throw new Error(`the event log head has not settled: ${JSON.stringify(view)}`);
      return head;
    },
    { timeout, interval: 100 },
  );
}

export type VerifyRun = { code: number; stdout: string; stderr: string };

/** `npm run views:verify` of a build (this one's dist by default) against `dataDir`: its exit code and output. */
export async function verifyViews(dataDir: string, root = ROOT): Promise<VerifyRun> {
  const script = join(root, 'dist/scripts/verify-views.js');
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every contact of a business unit as one process's views show it (contact ID → state), page by page. */
export async function viewStates(client: OrchestratorClient, businessUnitId: string): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  for (let after: string | undefined, pages = 0; pages === 0 || after !== undefined; pages++) {
    const page = await client.request<{ items: Array<{ contactId: string; state: string }>; next?: string }>(
      'GET',
      `/v1/contacts?businessUnitId=${businessUnitId}&limit=1000${after ? `&after=${after}` : ''}`,
    );
    if (page.status !== 200) throw new Error(`GET /v1/contacts answered ${page.status}: ${JSON.stringify(page.body)}`);
    for (const view of page.body.items) seen[view.contactId] = view.state;
    after = page.body.next;
  }
  return seen;
}

/** What the log in `dataDir` says of each contact of a business unit: Ended once it has a ContactEnded, else Active. */
export function logStates(dataDir: string, businessUnitId: string): Record<string, string> {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    const rows = db
      .prepare<[string], { id: string; type: string }>(
        `SELECT data->>'contactId' AS id, type FROM events WHERE type IN ('ContactStarted', 'ContactEnded') AND stream_id IN
           (SELECT stream_id FROM events WHERE type = 'ContactStarted' AND data->>'businessUnitId' = ?) ORDER BY position`,
      )
      .all(businessUnitId);
    return Object.fromEntries(rows.map((r) => [r.id, r.type === 'ContactEnded' ? 'Ended' : 'Active']));
  } finally {
    db.close();
  }
}
