/**
 * Looks at a service process from outside, so the figures survive a rewrite of its internals: memory from
 * /proc/<pid>/status, event-loop delay from the Prometheus text at GET /metrics.
 */
import { readFileSync } from 'node:fs';

export interface Memory {
  /** Resident set now. */
  rss: number;
  /** Peak resident set since the process started (VmHWM). */
  peak: number;
}

/** Bytes; undefined off Linux or once the process is gone. */
export function memoryOf(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples VmRSS every `intervalMs` until stopped; returns the largest sample. */
export function sampleRss(pid: number, intervalMs = 200): { stop: () => number } {
  let max = 0;
  const take = (): void => {
    const memory = memoryOf(pid);
    if (memory && memory.rss > max) max = memory.rss;
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return max;
    },
  };
}

export const EVENT_LOOP_P99 = 'nodejs_eventloop_lag_p99_seconds';

/** One scrape of GET /metrics. prom-client resets its event-loop histogram on every collect, so a scrape before
 *  the load starts the window and the scrape after it reads the load's own p99. Seconds, or undefined if absent. */
export async function scrapeEventLoopP99(serviceUrl: string): Promise<number | undefined> {
  const response = await fetch(`${serviceUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  // A registry prefix (e.g. `contact_orchestrator_`) or labels are allowed; the first sample wins.
  const match = new RegExp(`^(?:\\w+_)?${EVENT_LOOP_P99}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : undefined;
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
