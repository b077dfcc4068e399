/**
 * The group commit's answers against what its file holds, on a real SQLite file: an append answered as failed is
 * absent from the log, an append answered ok is there. SQLITE_FULL is reached on purpose with the writer
 * connection's `max_page_count` (GroupCommit.limitPages); an expired deadline with the lock free.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit, type AppendOutcome, type AppendRequest } from './group-commit.js';

let dir: string;
let file: string;
let log: GroupCommit;
let nextId = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'co-group-commit-'));
  file = join(dir, 'events.db');
  log = new GroupCommit(file, 1_000);
});

afterEach(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
});

const metadata = JSON.stringify({ correlationId: 'c', causationId: 'c', source: 'system', schemaVersion: 1 });

function request(streamId: string, dataBytes: number, events = 1, deadline = Date.now() + 60_000): AppendRequest {
  return {
    id: nextId++,
    streamId,
    expectedRevision: 'no_stream',
    deadline,
    events: Array.from({ length: events }, () => ({
      id: randomUUID(),
      type: 'E',
      data: JSON.stringify({ pad: 'x'.repeat(dataBytes) }),
      metadata,
    })),
  };
}

/** The event IDs the file holds, read by a connection of its own. */
function eventIdsInLog(): Set<string> {
  const db = new Database(file, { readonly: true });
  try {
    return new Set(
      (db.prepare('SELECT event_id FROM events').all() as Array<{ event_id: string }>).map((row) => row.event_id),
    );
  } finally {
    db.close();
  }
}

/** Every append answered ok has all its events in the log; every append answered as failed has none. */
function expectAnswersTrue(batch: AppendRequest[], outcomes: AppendOutcome[]): void {
  const inLog = eventIdsInLog();
  for (const append of batch) {
    const outcome = outcomes.find((o) => o.id === append.id)!;
    const present = append.events.map((e) => inLog.has(e.id));
    expect(
      present,
      `${append.streamId} answered ${outcome.ok ? 'ok' : `failed (${JSON.stringify(outcome.failure)})`}`,
    ).toEqual(append.events.map(() => outcome.ok));
  }
}

function expectCommitted(outcomes: AppendOutcome[] | 'locked'): AppendOutcome[] {
  expect(outcomes).not.toBe('locked');
  return outcomes as AppendOutcome[];
}

describe('a statement error that makes SQLite roll back the whole group (SQLITE_FULL)', () => {
  it.each([
    ['a single-event append', 1],
    ['a multi-event append (in a savepoint)', 3],
  ])(
    'on %s mid-group: every append answered as failed is absent from the log, every one answered ok is present',
    (_what, events) => {
      // Some rows, then a limit at the file's current size: small rows still fit in its pages, a 100 KB one does not.
      expectCommitted(log.commit(Array.from({ length: 20 }, (_, i) => request(`seed-${i}`, 100))));
      log.limitPages(log.pageCount());
      const batch = [
        request('before-1', 10),
        request('before-2', 10),
        request('too-big', 100_000, events),
        request('after-1', 10),
        request('after-2', 10, 2),
      ];

      const outcomes = expectCommitted(log.commit(batch));

      expect(outcomes.find((o) => o.id === batch[2]!.id)?.ok, 'the 100 KB append must hit SQLITE_FULL').toBe(false);
      expectAnswersTrue(batch, outcomes);
      for (const outcome of outcomes) if (!outcome.ok) expect(outcome.failure.kind).toBe('unavailable');
    },
  );

  it('the writer goes on once space is back: the next group commits and is in the log', () => {
    expectCommitted(log.commit(Array.from({ length: 20 }, (_, i) => request(`seed-${i}`, 100))));
    log.limitPages(log.pageCount());
    const full = [request('small', 10), request('too-big', 100_000)];
    expectAnswersTrue(full, expectCommitted(log.commit(full)));
    log.limitPages(1_000_000);
    const later = [request('later-1', 10), request('later-2', 100_000)];
    const outcomes = expectCommitted(log.commit(later));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expectAnswersTrue(later, outcomes);
  });
});

describe('deadlines', () => {
  it('an append whose deadline passed before the lock was taken is answered unavailable and not written, even with the lock free; the rest of its group is', () => {
    const batch = [request('on-time-1', 10), request('expired', 10, 1, Date.now() - 1), request('on-time-2', 10)];
    const outcomes = expectCommitted(log.commit(batch));
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const expired = outcomes[1]!;
    expect(!expired.ok && expired.failure).toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/STORE_TIMEOUT_MS.*nothing was written/),
    });
    expectAnswersTrue(batch, outcomes);
  });
});
