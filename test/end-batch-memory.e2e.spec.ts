/**
 * The remembered bulk-end answers under a flood, against the service run as `npm start` and the image run it (the
 * harness gives it the same NODE_OPTIONS, heap cap included): one agent with Contacts.End sends 1,100 keyed batches
 * of 1,000 unknown contact IDs, more answers than the cache keeps by count and many times what it keeps by bytes
 * (docs/decisions.md, "Memory"). The service must stay up, a recent key must replay its answer without ending
 * anything again, and the oldest key, forgotten, runs again (the same answer: each end's command ID derives from it).
 */
import { describe, expect, it } from 'vitest';
import { serviceForFile } from './harness/file-service.js';

type Batch = {
  batchId: string;
  results: Array<{ contactId: string; branch: string; status: number }>;
  summary: Record<string, number>;
};

const BATCHES = 1_100;
const PER_BATCH = 1_000;
const IN_FLIGHT = 4;

const suite = serviceForFile('bu-flood', { env: { LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' } });

/** 1,000 well-formed contact IDs no one started, distinct per batch. */
const unknownIds = (batch: number): string[] =>
  Array.from({ length: PER_BATCH }, (_, i) => String(9_000_000_000_000_000 + batch * PER_BATCH + i));

const endBatch = (batch: number) =>
  suite.client.request<Batch>('POST', '/v1/contacts/end-batch', {
    token: suite.bu.ender,
    body: { contactIds: unknownIds(batch) },
    headers: { 'idempotency-key': `flood-${batch}` },
  });

/** EndContact commands run so far that were refused as OnInvalidContactID (a replayed batch runs none). */
async function refusedEnds(): Promise<number> {
  const answer = await suite.client.request<string>('GET', '/metrics');
  let total = 0;
  for (const match of answer.body.matchAll(
    /^contact_orchestrator_end_contact_total\{[^}]*branch="OnInvalidContactID"[^}]*\} (\d+)$/gm,
  ))
    total += Number(match[1]);
  return total;
}

describe('remembered bulk-end answers under a flood of keyed batches', () => {
  it(
    '1,100 keyed batches of 1,000 unknown IDs: the service stays up, a recent key replays, the oldest runs again',
    { timeout: 120_000 },
    async () => {
      const { service, client } = suite;
      const first = await endBatch(0);
      expect(first.status).toBe(200);
      expect(first.body.summary['OnInvalidContactID']).toBe(PER_BATCH);

      let next = 1;
      let last: Batch | undefined;
      const sender = async (): Promise<void> => {
        while (next < BATCHES) {
          const batch = next++;
          const answer = await endBatch(batch).catch((error: unknown) => {
            throw new Error(
              `batch ${batch}: ${String(error)}; the service ${service.child.exitCode === null && service.child.signalCode === null ? 'runs' : `exited (${service.child.signalCode ?? service.child.exitCode})`}:\n${service.output().slice(-1_500)}`,
            );
          });
          expect(answer.status).toBe(200);
          if (batch === BATCHES - 1) last = answer.body;
        }
      };
      // The service's heap and resident memory while it runs, for docs/decisions.md ("Memory"): sampled every 500 ms.
      const peak = { heapMB: 0, rssMB: 0 };
      const sampler = setInterval(() => {
        void client.request<string>('GET', '/metrics').then(
          ({ body }) => {
            const value = (name: string) =>
              Number(new RegExp(`^${name} (\\d+)`, 'm').exec(body)?.[1] ?? 0) / 1024 / 1024;
            peak.heapMB = Math.max(peak.heapMB, value('nodejs_heap_size_used_bytes'));
            peak.rssMB = Math.max(peak.rssMB, value('process_resident_memory_bytes'));
          },
          () => undefined,
        );
      }, 500);
      await Promise.all(Array.from({ length: IN_FLIGHT }, sender)).finally(() => clearInterval(sampler));
      console.log(
        `flood: peak heap used ${peak.heapMB.toFixed(0)} MB, peak RSS ${peak.rssMB.toFixed(0)} MB (sampled every 500 ms)`,
      );
      expect(service.child.exitCode, service.output().slice(-2_000)).toBeNull();
      expect((await client.request('GET', '/health')).status).toBe(200);

      // The newest key: the same answer, and no end ran for it.
      const before = await refusedEnds();
      const replay = await endBatch(BATCHES - 1);
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual(last);
      expect(await refusedEnds()).toBe(before);

      // The oldest key was forgotten: its batch runs again, and answers as it did.
      const again = await endBatch(0);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await refusedEnds()).toBe(before + PER_BATCH);

      expect((await client.request('GET', '/health')).status).toBe(200);
    },
  );
});
