// Shared by the test harnesses (event-store.ts, kafka.ts): how a suite says it did not run, and why.

import { appendFileSync } from 'node:fs';

/**
 * Prints `SKIPPED <suite>: <reason>` so a skipped real-server suite is visible in the test output; with CO_SKIP_LOG
 * set (CI does), also appends the line to that file, which CI's summary lists and checks.
 */
export function printSkip(suite: string, reason: string): void {
  console.warn(`SKIPPED ${suite}: ${reason}`);
  if (process.env.CO_SKIP_LOG) appendFileSync(process.env.CO_SKIP_LOG, `${suite}: ${reason.replace(/\s+/g, ' ')}\n`);
}

/**
 * Whether testcontainers can reach a container engine. The docker CLI may exist without an engine (as on
 * the build machines), so this asks testcontainers itself, which tries DOCKER_HOST,
 * ~/.testcontainers.properties, the default sockets and rootless setups; bounded by `timeoutMs`.
 */
export async function probeContainerRuntime(timeoutMs = 5_000): Promise<{ ok: true } | { ok: false; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
