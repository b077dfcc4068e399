/**
 * npm run bench:commands — measured in one run, bounded in count and time, loopback only:
 *  1. the SQLite event store: concurrent single-event appends with group commit vs one commit per append;
 *  2. the whole service over HTTP: EndContact throughput and latency percentiles, and memory.
 * Figures are printed; nothing is asserted (targets live here, not as timing assertions in tests).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../apps/orchestrator/src/bootstrap.js';
import { SqliteEventStore } from '../libs/event-store/src/index.js';

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

async function serviceBench(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'co-bench-service-'));
  const service = await startService({ ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', ANONYMOUS_REFUSALS_PER_MINUTE: '100000' });
  const platform = { authorization: `Bearer ${service.secrets.platformToken}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> =>
    fetch(`${service.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  try {
    await call('PUT', '/v1/security-profiles/ender', platform, { name: 'Ender', permissions: ['Contacts.End'] });
    await call('PUT', '/v1/agents/bench', platform, { businessUnitId: 'bench', securityProfileId: 'ender', active: true });
    const { securityUser } = (await (await call('POST', '/v1/security-users', platform, { agentId: 'bench' })).json()) as { securityUser: string };
    const ids = Array.from({ length: CONTACTS }, (_, i) => String(10_000_000 + i));
    const startedAt = performance.now();
    await pool(ids, CONCURRENCY, async (contactId) => {
      const response = await call('POST', '/v1/contacts', platform, { businessUnitId: 'bench', mediaType: 'Phone', contactId });
      if (response.status !== 201) throw new Error(`start ${contactId}: ${response.status}`);
      await response.arrayBuffer();
    });
    const startSeconds = (performance.now() - startedAt) / 1000;
    const latencies: number[] = [];
    const endedAt = performance.now();
    await pool(ids, CONCURRENCY, async (contactId) => {
      const t0 = performance.now();
      const response = await call('POST', `/v1/contacts/${contactId}/end`, { authorization: `Bearer ${securityUser}` });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`end ${contactId}: ${response.status}`);
      latencies.push(performance.now() - t0);
    });
    const endSeconds = (performance.now() - endedAt) / 1000;
    latencies.sort((a, b) => a - b);
    const memory = process.memoryUsage();
    console.log(`\nservice over HTTP (${CONTACTS} contacts, ${CONCURRENCY} concurrent clients, client and service in one process)`);
    console.log(`  StartContact: ${(CONTACTS / startSeconds).toFixed(0)} commands/s`);
    console.log(`  EndContact:   ${(CONTACTS / endSeconds).toFixed(0)} commands/s; latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1]!.toFixed(1)} ms`);
    console.log(`  memory after: rss ${mb(memory.rss)}, heap used ${mb(memory.heapUsed)}`);
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
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
