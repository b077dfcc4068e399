/**
 * npm run bench:commands — measured in one run, bounded in count and time, loopback only:
 *  1. the SQLite event store: concurrent single-event appends with group commit vs one commit per append;
 *  2. the whole service over HTTP: EndContact throughput and latency percentiles, and memory.
 * Figures are printed; nothing is asserted (targets live here, not as timing assertions in tests).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../libs/event-store/src/index.js';
import { OrchestratorClient } from '../test/harness/client.js';
import { removeDataDir, startServiceProcess } from '../test/harness/service.js';

const APPENDS = Number(process.env.BENCH_APPENDS ?? 4000);
const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function appendRate(maxBatch: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'co-bench-store-'));
  const store = new SqliteEventStore(join(dir, 'events.db'), { maxBatch });
  const streams = Array.from({ length: APPENDS }, (_, i) => `bench-${i}`);
  const started = performance.now();
  await pool(streams, 64, async (stream) => {
    await store.append(stream, [{ id: randomUUID(), type: 'ContactStarted', data: { contactId: stream }, metadata: { correlationId: 'b', causationId: 'b', source: 'system', schemaVersion: 1 } }], { expectedRevision: 'no_stream' });
  });
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return APPENDS / seconds;
}

/** Peak and current resident memory of a process, from /proc (Linux). */
function memoryOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

async function serviceBench(): Promise<void> {
  // The service runs as its own process (as in production); this process is only the load generator.
  const service = await startServiceProcess({ env: { ANONYMOUS_REFUSALS_PER_MINUTE: '100000' } });
  const api = new OrchestratorClient(service.url, service.platformToken);
  try {
    const idle = memoryOf(service.child.pid!);
    await api.putProfile('ender', ['Contacts.End']);
    await api.putAgent('bench', 'bench', 'ender');
    const securityUser = await api.securityUser('bench');
    const ids = Array.from({ length: CONTACTS }, (_, i) => String(10_000_000 + i));
    const startedAt = performance.now();
    await pool(ids, CONCURRENCY, async (contactId) => {
      await api.startContact('bench', 'Phone', contactId);
    });
    const startSeconds = (performance.now() - startedAt) / 1000;
    const latencies: number[] = [];
    const endedAt = performance.now();
    await pool(ids, CONCURRENCY, async (contactId) => {
      const t0 = performance.now();
      const answer = await api.endContact(contactId, securityUser);
      if (answer.status !== 200) throw new Error(`end ${contactId}: ${answer.status}`);
      latencies.push(performance.now() - t0);
    });
    const endSeconds = (performance.now() - endedAt) / 1000;
    latencies.sort((a, b) => a - b);
    const loaded = memoryOf(service.child.pid!);
    console.log(`\nservice over HTTP (its own process; ${CONTACTS} contacts, ${CONCURRENCY} concurrent clients)`);
    console.log(`  StartContact: ${(CONTACTS / startSeconds).toFixed(0)} commands/s`);
    console.log(`  EndContact:   ${(CONTACTS / endSeconds).toFixed(0)} commands/s; latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1]!.toFixed(1)} ms`);
    if (idle && loaded) console.log(`  service memory: rss idle ${mb(idle.rss)}, rss after ${mb(loaded.rss)}, peak ${mb(loaded.peak)} (ratio peak/idle ${(loaded.peak / idle.rss).toFixed(2)})`);
  } finally {
    await service.stop();
    removeDataDir(service.dataDir);
  }
}

console.log(`contact-orchestrator benchmarks — node ${process.version}, ${new Date().toISOString()}`);
const single = await appendRate(1);
const grouped = await appendRate(256);
console.log(`\nSQLite event store, ${APPENDS} single-event appends, 64 in flight, synchronous=FULL`);
console.log(`  one commit per append: ${single.toFixed(0)} appends/s`);
console.log(`  group commit:          ${grouped.toFixed(0)} appends/s`);
console.log(`  ratio group/single:    ${(grouped / single).toFixed(1)}x`);
await serviceBench();
