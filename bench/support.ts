/**
 * What every part of the bench shares: progress lines on stderr (stdout carries only the table), percentiles,
 * temp dirs and a cleanup list that also runs on Ctrl-C, so no child process or temp dir outlives the bench.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const pending = new Set<() => Promise<void> | void>();

/** Registers a cleanup; the returned function runs it now (once) and forgets it. */
export function defer(task: () => Promise<void> | void): () => Promise<void> {
  let done = false;
  const run = async (): Promise<void> => {
    if (done) return;
    done = true;
    pending.delete(run);
    await task();
  };
  pending.add(run);
  return run;
}

/** Runs every cleanup still registered, newest first; one failing does not stop the others. */
export async function cleanUpEverything(): Promise<void> {
  for (const run of [...pending].reverse())
    await Promise.resolve(run()).catch((error: unknown) => progress(`cleanup failed: ${String(error)}`));
}

/** A temp dir removed by the returned cleanup (also on Ctrl-C). */
export function tempDir(prefix: string): { dir: string; remove: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: defer(() => rmSync(dir, { recursive: true, force: true })) };
}

/** Runs `work` on every item with `concurrency` callers in flight. */
export async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export const formatInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const formatMs = (ms: number): string =>
  Number.isFinite(ms) ? `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms` : 'n/a';
