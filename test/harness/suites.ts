/** What every real-broker suite repeats: resolve the broker, or declare the suite skipped with its reason; and waits. */
import { describe, it, vi } from 'vitest';
import { resolveKafka, type KafkaResolution } from './kafka.js';
import { printSkip } from './skip.js';

export type ReadyKafka = Extract<KafkaResolution, { kind: 'ready' }>;

/** Calls `body` with a real broker, or registers one skipped test whose name carries the printed reason. */
export async function withKafka(suite: string, body: (broker: ReadyKafka) => void): Promise<void> {
  const resolution = await resolveKafka();
  if (resolution.kind === 'skipped') {
    printSkip(suite, resolution.reason);
    describe.skip(`${suite} (skipped: ${resolution.reason})`, () => it('needs a Kafka broker', () => {}));
    return;
  }
  body(resolution);
}

/** Polls `probe` every 50 ms until it gives a value (not undefined, not false); throws naming `what` on timeout. */
export function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined || value === false)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      return value;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}
