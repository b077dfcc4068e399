// Half-built views of an online rebuild: each process's own file, even two containers on one volume (both pid 1),
// and at start only the files of processes that are gone are discarded.
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { HALF_BUILT_STALE_MS, discardHalfBuilt, nextViewsFile } from './online-rebuild.js';

let dir: string;
let views: string;
const now = Date.parse('2026-12-06T12:00:00Z');

function file(name: string, modifiedAt = now): void {
  writeFileSync(join(dir, name), '');
  utimesSync(join(dir, name), new Date(modifiedAt), new Date(modifiedAt));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'co-half-built-'));
  views = join(dir, 'views.v5.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('two containers on one volume, both pid 1, build into different files', () => {
  expect(nextViewsFile(views, 1, 'container-a')).not.toBe(nextViewsFile(views, 1, 'container-b'));
});

it('discards its own and dead processes’ files on this host, keeps live ones and other hosts’ fresh ones', () => {
  const deadPid = 2 ** 22 + 17; // above the kernel's pid_max: never running
  file(`views.v5.db.next-${process.pid}@here`);
  file(`views.v5.db.next-${deadPid}@here`);
  file(`views.v5.db.next-${deadPid}@here-wal`);
  file(`views.v5.db.next-${deadPid}@here.rebuild-contacts-journal`);
  file(`views.v5.db.next-${deadPid}@here.example`); // another host whose name begins with this one's
  file(`views.v5.db.next-${process.ppid}@here`);
  file(`views.v5.db.next-${deadPid}`); // an older release's name: this host
  file('views.v5.db.next-1@peer', now - 60_000);
  file('views.v5.db.next-1@gone', now - HALF_BUILT_STALE_MS - 1);

  const removed = discardHalfBuilt(views, now, 'here');

  expect(removed.sort()).toStrictEqual(
    [
      `views.v5.db.next-${process.pid}@here`,
      `views.v5.db.next-${deadPid}@here`,
      `views.v5.db.next-${deadPid}@here-wal`,
      `views.v5.db.next-${deadPid}@here.rebuild-contacts-journal`,
      `views.v5.db.next-${deadPid}`,
      'views.v5.db.next-1@gone',
    ].sort(),
  );
  expect(readdirSync(dir).sort()).toStrictEqual(
    [
      `views.v5.db.next-${process.ppid}@here`,
      `views.v5.db.next-${deadPid}@here.example`,
      'views.v5.db.next-1@peer',
    ].sort(),
  );
});
