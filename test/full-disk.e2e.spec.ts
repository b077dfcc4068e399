/**
 * A full disk, for real: DATA_DIR on a small tmpfs (mounted by the test: root only), most of it taken by a ballast
 * file, then starts and ends until the disk is full. Never a 500 or a hang; every end answered 503 wrote nothing
 * (the log has no ContactEnded for it, and once space is freed the same end succeeds); writes come back without a
 * restart; after a SIGKILL every acknowledged end is still there and events.db passes `PRAGMA integrity_check`.
 * docs/operations.md, "A full disk".
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OrchestratorClient, type Answer } from './harness/client.js';
import { startServiceProcess, type ServiceProcess } from './harness/service.js';
import { printSkip } from './harness/skip.js';

const SUITE = 'full disk (tmpfs DATA_DIR)';
const TMPFS_SIZE = '24m';
/** Left free beside the ballast when the load starts: a few hundred ends' worth of log and views. */
const HEADROOM_BYTES = 1536 * 1024;
const MAX_OPERATIONS = 20_000;
const LOAD_SECONDS = 90;
const ANSWER_TIMEOUT_MS = 15_000;
const WORKERS = 4;
const platformToken = 'full-disk-platform-token';

let mountPoint = '';
let mounted = false;
let skipReason: string | undefined;
let service: ServiceProcess | undefined;

function mountTmpfs(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  mountPoint = mkdtempSync(join(tmpdir(), 'co-full-disk-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', mountPoint], {
    encoding: 'utf8',
  });
  if (mount.status !== 0) return `mount -t tmpfs failed: ${(mount.stderr || mount.error?.message || '').trim()}`;
  mounted = true;
  return undefined;
}

const freeBytes = (dir: string): number => {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
};

/** An answer, or what came instead: no answer within ANSWER_TIMEOUT_MS, or the connection failing. */
async function within<T>(answer: Promise<Answer<T>>): Promise<Answer<T> | string> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('no answer'), ANSWER_TIMEOUT_MS)));
  try {
    return await Promise.race([
      answer.catch((error: unknown) => `${String(error)} (${String((error as Error).cause)})`),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function logOf(dataDir: string): { ended: Set<string>; integrity: string } {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    const ended = db
      .prepare<[], string>(`SELECT data->>'contactId' FROM events WHERE type = 'ContactEnded'`)
      .pluck()
      .all();
    return { ended: new Set(ended), integrity: db.pragma('integrity_check', { simple: true }) as string };
  } finally {
    db.close();
  }
}

beforeAll(() => {
  skipReason = mountTmpfs();
  if (skipReason) printSkip(SUITE, skipReason);
});

afterAll(async () => {
  await service?.kill();
  if (mounted) spawnSync('umount', [mountPoint]);
  if (mountPoint) rmSync(mountPoint, { recursive: true, force: true });
});

describe(SUITE, () => {
  it('load until the disk is full: honest 503s, nothing half-written, writes back once space is freed, acknowledged ends survive SIGKILL', async (context) => {
    if (skipReason) return context.skip(skipReason);
    const dataDir = join(mountPoint, 'data');
    const env = { RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' };
    service = await startServiceProcess({ dataDir, platformToken, env });
    const client = new OrchestratorClient(service.url, platformToken);
    const { ender } = await client.seedBusinessUnit('bu-disk');

    // Contacts started before the disk fills and ended only once it is full: the load alone may fill it on a start
    // (every end before it acknowledged), and an end refused for a full disk is what the test is about.
    const reserve: string[] = [];
    for (let i = 0; i < 10; i++) reserve.push(await client.startContact('bu-disk', 'Email'));

    const ballast = join(mountPoint, 'ballast');
    writeFileSync(ballast, Buffer.alloc(Math.max(0, freeBytes(mountPoint) - HEADROOM_BYTES)));
    console.log(`full disk: ${freeBytes(mountPoint)} bytes left free on the ${TMPFS_SIZE} tmpfs`);

    const statuses = new Map<string, number>();
    const count = (what: string) => statuses.set(what, (statuses.get(what) ?? 0) + 1);
    const unexpected: string[] = [];
    const acknowledged = new Set<string>();
    const refused = new Set<string>();
    let operations = 0;
    let full = 0;
    const deadline = Date.now() + LOAD_SECONDS * 1_000;
    // Until 20 writes in a row answer 503 (the disk is full for good), within a count and a time.
    const done = () => full >= 20 || operations >= MAX_OPERATIONS || Date.now() > deadline;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (!done()) {
          operations++;
          const start = await within(
            client.request<{ contactId: string }>('POST', '/v1/contacts', {
              body: { businessUnitId: 'bu-disk', mediaType: 'Chat' },
            }),
          );
          if (typeof start === 'string') {
            unexpected.push(`start: ${start}`);
            break;
          }
          count(`start ${start.status}`);
          if (start.status !== 201) {
            if (start.status === 503) full++;
            else unexpected.push(`start: ${start.status} ${JSON.stringify(start.body)}`);
            continue;
          }
          const contactId = start.body.contactId;
          const end = await within(client.endContact(contactId, ender));
          if (typeof end === 'string') {
            unexpected.push(`end ${contactId}: ${end}`);
            break;
          }
          count(`end ${end.status}`);
          if (end.status === 200) {
            acknowledged.add(contactId);
            full = 0;
          } else if (end.status === 503) {
            refused.add(contactId);
            full++;
          } else unexpected.push(`end ${contactId}: ${end.status} ${JSON.stringify(end.body)}`);
        }
      }),
    );
    if (full >= 20)
      for (const contactId of reserve) {
        const end = await within(client.endContact(contactId, ender));
        if (typeof end === 'string') {
          unexpected.push(`end ${contactId}: ${end}`);
          break;
        }
        count(`reserve end ${end.status}`);
        if (end.status === 200) acknowledged.add(contactId);
        else if (end.status === 503) refused.add(contactId);
        else unexpected.push(`end ${contactId}: ${end.status} ${JSON.stringify(end.body)}`);
      }
    console.log(
      `full disk: ${operations} rounds; ${JSON.stringify(Object.fromEntries(statuses))}; ${acknowledged.size} ends acknowledged, ${refused.size} answered 503`,
    );
    expect(
      unexpected.slice(0, 10),
      `service exit ${service.child.exitCode ?? service.child.signalCode}; its output's end:\n${service.output().slice(-4_000)}`,
    ).toStrictEqual([]);
    expect(refused.size, 'the disk never filled').toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(0);

    // 503 meant nothing written: no refused end is in the log, every acknowledged one is.
    const whileFull = logOf(dataDir);
    expect([...refused].filter((id) => whileFull.ended.has(id))).toStrictEqual([]);
    expect([...acknowledged].filter((id) => !whileFull.ended.has(id))).toStrictEqual([]);

    // Reads keep answering while the disk is full.
    const someEnded = [...acknowledged][0]!;
    const read = await client.request<{ state: string }>('GET', `/v1/contacts/${someEnded}`);
    expect(`${read.status} ${read.body.state}`).toBe('200 Ended');

    // Space freed: writes come back without a restart, and a refused end, sent again, ends the contact.
    rmSync(ballast);
    const retried = [...refused].slice(0, 5);
    await vi.waitFor(
      async () => {
        const answer = await client.endContact(retried[0]!, ender);
        if (answer.status !== 200)
          throw new Error(`end after freeing space: ${answer.status} ${JSON.stringify(answer.body)}`);
      },
      { timeout: 30_000, interval: 200 },
    );
    acknowledged.add(retried[0]!);
    for (const contactId of retried.slice(1)) {
      const answer = await client.endContact(contactId, ender);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      acknowledged.add(contactId);
    }
    await vi.waitFor(async () => expect((await client.request('GET', '/health', { token: null })).status).toBe(200), {
      timeout: 30_000,
      interval: 200,
    });
    expect(service.child.exitCode).toBeNull();

    // SIGKILL, then a new process on the same files: every acknowledged end is there, and the log is sound.
    await service.kill();
    const afterKill = logOf(dataDir);
    expect(afterKill.integrity).toBe('ok');
    expect([...acknowledged].filter((id) => !afterKill.ended.has(id))).toStrictEqual([]);
    service = await startServiceProcess({ dataDir, platformToken, env });
    const again = new OrchestratorClient(service.url, platformToken);
    for (const contactId of [...acknowledged].slice(-20)) {
      const view = await again.request<{ state: string }>('GET', `/v1/contacts/${contactId}`);
      expect(`${contactId} ${view.status} ${view.body.state}`).toBe(`${contactId} 200 Ended`);
    }
  }, 240_000);
});
