/**
 * Row: GET /v1/audit/events over a large log (docs/design.md, Audit and replay: memory stays flat whatever the range). The bench writes
 * the log into a fresh DATA_DIR, starts the service on it, waits for its views to catch up, then reads the whole
 * export over HTTP (counting bytes, keeping none) while sampling the service's VmRSS; the figure is the peak
 * against the idle RSS just before.
 */
import { join } from 'node:path';
import { sleep } from '#runtime';
import { startServiceProcess, removeDataDir } from '../test/harness/service.js';
import type { BenchOptions } from './options.js';
import { memoryOf, mb, sampleRss } from './process-probe.js';
import { writeLog } from './rebuild.js';
import { defer, formatInt, progress, tempDir } from './support.js';
import { row, verdict, type Row } from './table.js';

export const AUDIT_FIGURES = [{ figure: 'audit export RSS over idle', target: '≤ 50 MB' }] as const;
const MAX_GROWTH = 50 * 1024 * 1024;

export async function measureAuditExport(options: BenchOptions['audit']): Promise<Row[]> {
  const { dir, remove } = tempDir('co-bench-audit-');
  try {
    progress(`audit: writing a ${formatInt(options.events)}-event log`);
    await writeLog(join(dir, 'events.db'), options.events);
    const service = await startServiceProcess({ dataDir: dir, env: { LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' } });
    const stop = defer(async () => void (await service.stop()));
    try {
      const pid = service.child.pid!;
      progress('audit: waiting for the views to catch up');
      await caughtUp(service);
      await sleep(2_000);
      const idle = memoryOf(pid)!.rss;
      progress(`audit: idle RSS ${mb(idle)}; exporting`);
      const sampler = sampleRss(pid, 100);
      const started = performance.now();
      const response = await fetch(`${service.url}/v1/audit/events`, {
        headers: { authorization: `Bearer ${service.platformToken}` },
      });
      if (response.status !== 200) throw new Error(`GET /v1/audit/events answered ${response.status}`);
      let bytes = 0;
      let lines = 0;
      for await (const chunk of response.body! as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        for (const byte of chunk) if (byte === 10) lines++;
      }
      const seconds = (performance.now() - started) / 1000;
      const peak = sampler.stop();
      if (lines !== options.events) throw new Error(`the export had ${lines} lines, the log ${options.events} events`);
      const growth = peak - idle;
      progress(`audit: ${formatInt(lines)} lines (${mb(bytes)}) in ${seconds.toFixed(1)} s; peak RSS ${mb(peak)}`);
      return [
        row(
          `audit export RSS over idle, ${formatInt(options.events)}-event log`,
          `+${mb(growth)} (idle ${mb(idle)}, peak ${mb(peak)} during the export; ${formatInt(lines / seconds)} lines/s, ${mb(bytes)} of NDJSON in ${seconds.toFixed(1)} s)`,
          AUDIT_FIGURES[0].target,
          verdict(growth <= MAX_GROWTH),
        ),
      ];
    } finally {
      await stop();
      removeDataDir(service.dataDir);
    }
  } finally {
    await remove();
  }
}

/**
 * The contact view has applied the whole log (GET /health's details, with the platform token); a million events take
 * a while to project at start.
 */
async function caughtUp(service: { url: string; platformToken: string }): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const health = (await (
      await fetch(`${service.url}/health`, { headers: { authorization: `Bearer ${service.platformToken}` } })
    ).json()) as {
      details?: Record<string, { caughtUp?: boolean }>;
    };
    if (health.details?.['contact-view']?.caughtUp) return;
    await sleep(500);
  }
  throw new Error('the views did not catch up within 5 minutes');
}
