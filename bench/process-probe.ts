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
    const kb = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
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

/**
 * One scrape of GET /metrics, with the platform token: the event-loop p99 over the service's window
 * (METRICS_LOOP_WINDOW_SECONDS: the last N complete seconds and the current one). No scrape resets it, so what it
 * covers is set by the window the service was started with (the HTTP bench: the load's seconds less one, see
 * http-load.ts). Seconds, or undefined if absent.
 */
export async function scrapeEventLoopP99(service: { url: string; platformToken: string }): Promise<number | undefined> {
  const response = await fetch(`${service.url}/metrics`, {
    headers: { authorization: `Bearer ${service.platformToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  // A registry prefix (e.g. `contact_orchestrator_`) or labels are allowed; the first sample wins.
  const match = new RegExp(`^(?:\\w+_)?${EVENT_LOOP_P99}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : undefined;
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
