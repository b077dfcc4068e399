/**
 * The views host when its worker thread stops without being asked to (a crash): the views are reported down naming
 * it, whoever runs the host hears of it, stop() still completes, and an online rebuild that can no longer be swapped
 * in fails instead of staying `swapping` (which would refuse every later rebuild).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqliteEventStore, type EventToAppend } from '#event-store';
import { ViewsHost } from './views-host.js';
import { settlesWithin, type Log } from '#runtime';

const metadata = { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1, commandId: 'x' };
const started = (contactId: string): EventToAppend => ({
  id: randomUUID(),
  type: 'ContactStarted',
  data: { contactId, businessUnitId: 'bu', mediaType: 'Chat', startedAt: '2026-01-01T00:00:00Z' },
  metadata,
});

const quiet: Log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The views thread, reached as a crash would reach it: from outside the host's API. */
const viewsWorkerOf = (host: ViewsHost): Worker => (host as unknown as { worker: Worker }).worker;

describe('ViewsHost, its worker stopped without being asked to', () => {
  let dir: string;
  let store: SqliteEventStore;
  let host: ViewsHost;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'co-views-host-'));
    store = new SqliteEventStore(join(dir, 'events.db'));
    for (let i = 1; i <= 20; i++)
      await store.append(`contact-${i}`, [started(String(i))], { expectedRevision: 'no_stream' });
    host = new ViewsHost({
      viewsFile: join(dir, 'views.db'),
      source: { kind: 'sqlite', file: store.file },
      storeTimeoutMs: 5_000,
      logger: quiet,
    });
    await host.start(await store.commitNotifications());
    await host.waitFor((await store.headPosition())!, 10_000);
  });

  afterEach(async () => {
    await settlesWithin(host.stop(), 5_000);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is reported (lastError, failure, failed()) naming the views worker', async () => {
    expect(host.failure).toBeUndefined();
    await viewsWorkerOf(host).terminate();
    expect(await host.failed()).toMatch(/views worker stopped/);
    expect(host.failure).toMatch(/views worker stopped/);
    expect(host.lastError).toMatch(/views worker stopped/);
  });

  it('stop() completes at once: it does not wait for an exit that has already happened', async () => {
    await viewsWorkerOf(host).terminate();
    expect(await settlesWithin(host.stop(), 5_000)).toBe(true);
  });

  it('an online rebuild it can no longer swap in fails, and a later one may start', async () => {
    expect(host.startRebuild()).toBe(true);
    await viewsWorkerOf(host).terminate();
    const state = await vi.waitFor(
      () => {
        const now = host.rebuildState;
        if (now.state === 'building' || now.state === 'swapping') throw new Error(`the rebuild is still ${now.state}`);
        return now;
      },
      { timeout: 15_000, interval: 50 },
    );
    expect(state.state).toBe('failed');
    expect(state.error).toMatch(/views worker stopped/);
    // Not refused as "already running" (409): it fails at once, nothing being there to swap it in.
    expect(host.startRebuild()).toBe(true);
    expect(host.rebuildState).toMatchObject({ state: 'failed', error: expect.stringMatching(/views worker stopped/) });
  });

  it('stopping is not a failure: failure stays undefined and failed() never settles', async () => {
    const failed = host.failed();
    await host.stop();
    expect(host.failure).toBeUndefined();
    expect(await settlesWithin(failed, 100)).toBe(false);
  });
});
