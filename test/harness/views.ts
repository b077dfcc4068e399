/** Waiting on the read side through /health, with Vitest's own polling. */
import { expect, vi } from 'vitest';
import type { OrchestratorClient } from './client.js';

type Health = { details?: Record<string, { head?: string; caughtUp?: boolean } | undefined> };

/** The contact view has applied the whole log. */
export async function caughtUp(client: OrchestratorClient, timeout = 10_000): Promise<void> {
  await expect
    .poll(async () => (await client.request<Health>('GET', '/health', { token: null })).body.details?.['contact-view']?.caughtUp, { timeout, interval: 50 })
    .toBe(true);
}

/** The log head once the contact view has caught up and two reads 100 ms apart agree (nothing still being written). */
export function settledHead(client: OrchestratorClient): Promise<string> {
  let previous: string | undefined;
  return vi.waitFor(
    async () => {
      const view = (await client.request<Health>('GET', '/health', { token: null })).body.details?.['contact-view'];
      const head = view?.caughtUp ? view.head : undefined;
      const settled = head !== undefined && head === previous;
      previous = head;
      if (!settled) throw new Error(`the event log head has not settled: ${JSON.stringify(view)}`);
      return head;
    },
    { timeout: 10_000, interval: 100 },
  );
}
