// Which views files a starting process removes: another schema version's (or the unversioned views.db of older
// releases) once untouched for the stale period, with their WAL, SHM and half-built rebuilds; never its own.
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  STALE_VIEWS_AFTER_MS,
  VIEWS_SCHEMA_VERSION,
  removeStaleViews,
  touchViews,
  viewsFileIn,
} from './views-files.js';

let dir: string;
const now = Date.parse('2026-12-06T12:00:00Z');
const at = (ms: number) => new Date(ms);

function file(name: string, modifiedAt: number): void {
  writeFileSync(join(dir, name), '');
  utimesSync(join(dir, name), at(modifiedAt), at(modifiedAt));
}

beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'co-views-files-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('names the file by schema version', () => {
  expect(viewsFileIn('/data')).toBe(`/data/views.v${VIEWS_SCHEMA_VERSION}.db`);
  expect(viewsFileIn('/data', 9)).toBe('/data/views.v9.db');
});

it('removes other versions untouched for the stale period, keeps those a peer touched since, never its own', () => {
  const own = viewsFileIn(dir);
  const previous = `views.v${VIEWS_SCHEMA_VERSION - 1}.db`;
  const old = now - STALE_VIEWS_AFTER_MS - 1;
  file(previous, old);
  file(`${previous}-wal`, old);
  file(`views.v${VIEWS_SCHEMA_VERSION}.db`, old);
  file('views.db', old);
  file('views.db-shm', old);
  file('views.db.next-41', old);
  // A peer of the next version: its file is old but its WAL was written a minute ago.
  file('views.v99.db', old);
  file('views.v99.db-wal', now - 60_000);
  file('events.db', old);
  file('views.v7.db.bak', old);

  const result = removeStaleViews(own, now);

  expect(result.kept).toStrictEqual(['views.v99.db']);
  expect(result.removed.sort()).toStrictEqual([previous, 'views.db'].sort());
  expect(readdirSync(dir).sort()).toStrictEqual(
    ['events.db', `views.v${VIEWS_SCHEMA_VERSION}.db`, 'views.v7.db.bak', 'views.v99.db', 'views.v99.db-wal'].sort(),
  );
});

it('a touched file counts as in use', () => {
  file('views.v99.db', now - STALE_VIEWS_AFTER_MS - 1);
  touchViews(join(dir, 'views.v99.db'), at(now - 1_000));
  expect(removeStaleViews(viewsFileIn(dir), now)).toStrictEqual({ removed: [], kept: ['views.v99.db'] });
  expect(removeStaleViews(viewsFileIn(dir), now + STALE_VIEWS_AFTER_MS)).toStrictEqual({
    removed: ['views.v99.db'],
    kept: [],
  });
});
