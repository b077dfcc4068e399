// The audit export's two readers of a log agree line for line: the port's recorded events (any store) and the
// embedded log's stored text (SqliteLogPages), filters included.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '#event-store';
import { auditLines, exportEnd, pagesOf, type AuditFilter, type LogPages } from './audit-events.js';
import { SqliteLogPages } from './sqlite-log-pages.js';

let dir: string;
let store: SqliteEventStore;
let pages: SqliteLogPages;
const metadata = {
  correlationId: 'c',
  causationId: 'c',
  source: 'http' as const,
  schemaVersion: 1,
  commandId: 'k-"quoted"',
};

async function collect(log: LogPages, filter: AuditFilter): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of auditLines(log, filter, await exportEnd(log, filter))) lines.push(line);
  return lines;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'co-audit-'));
  store = new SqliteEventStore(join(dir, 'events.db'));
  for (let i = 0; i < 1_200; i++) {
    const contactId = String(1000 + (i % 50));
    const businessUnitId = `bu-${i % 3}`;
    const event =
      i % 4 === 3
        ? {
            type: 'EndContactRejected',
            data: {
              contactId,
              reason: 'Unauthorized',
              detail: 'é "x"\n',
              agentId: `agent-${i % 7}`,
              businessUnitId,
              rejectedAt: new Date().toISOString(),
            },
          }
        : {
            type: i % 2 === 0 ? 'ContactStarted' : 'ContactEnded',
            data: { contactId, businessUnitId, mediaType: 'Chat', endedBy: `agent-${i % 7}`, n: i },
          };
    await store.append(`s-${i}`, [{ id: randomUUID(), ...event, metadata }], { expectedRevision: 'no_stream' });
  }
  pages = new SqliteLogPages(store.file, 1_000);
});

afterAll(async () => {
  pages.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit lines', () => {
  it('the stored text and the port give the same lines, for every filter, across pages', async () => {
    const filters: AuditFilter[] = [
      {},
      { from: { position: 17n }, to: { position: 1_111n } },
      { businessUnitId: 'bu-1' },
      { agentId: 'agent-3' },
      { contactId: '1007' },
      { type: 'EndContactRejected', contactEventsOnly: true, businessUnitId: 'bu-2' },
    ];
    for (const filter of filters) {
      const viaPort = await collect(pagesOf(store), filter);
      expect(await collect(pages, filter)).toStrictEqual(viaPort);
      expect(viaPort.length).toBeGreaterThan(0);
    }
    const all = (await collect(pages, {})).map(
      (l) => JSON.parse(l) as { position: string; data: { contactId: string } },
    );
    expect(all.map((l) => l.position)).toStrictEqual(Array.from({ length: 1_200 }, (_, i) => String(i + 1)));
    expect((await collect(pages, { contactId: '1007' })).length).toBe(
      all.filter((l) => l.data.contactId === '1007').length,
    );
  });

  it('gives the event loop a turn between pages, also when no line matches (nothing written, no socket to wait for)', async () => {
    // The embedded log's pages are read synchronously: a scan that never yields holds every request until it ends.
    let turns = 0;
    let counting = true;
    const count = (): void => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    // Through the port, 1,200 events are three pages of 500: the loop turns at least once per page.
    expect(await collect(pagesOf(store), { businessUnitId: 'bu-nobody' })).toEqual([]);
    expect(turns).toBeGreaterThanOrEqual(3);
    // The embedded log scans them in one window: the loop turns after it.
    turns = 0;
    expect(await collect(pages, { businessUnitId: 'bu-nobody' })).toEqual([]);
    counting = false;
    expect(turns).toBeGreaterThanOrEqual(1);
  });

  it('the embedded log applies the filter where the rows are: what an auditor does not see never reaches JavaScript', async () => {
    const all = await pages.scanner({})(0n, 1_200n, 10_000);
    expect(all).toHaveLength(1_200);
    const bu1 = await pages.scanner({ businessUnitId: 'bu-1' })(0n, 1_200n, 10_000);
    expect(bu1.length).toBe(all.filter((r) => r.businessUnitId === 'bu-1').length);
    expect(bu1.every((r) => r.businessUnitId === 'bu-1')).toBe(true);
    const refusals = await pages.scanner({ type: 'EndContactRejected', contactEventsOnly: true, agentId: 'agent-3' })(
      0n,
      1_200n,
      10_000,
    );
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((r) => r.type === 'EndContactRejected' && r.agentId === 'agent-3')).toBe(true);
    // A window: positions in (100, 300] only, and no more than asked for.
    const window = await pages.scanner({})(100n, 300n, 50);
    expect(window.map((r) => Number(r.position))).toStrictEqual(Array.from({ length: 50 }, (_, i) => 101 + i));
  });
});
