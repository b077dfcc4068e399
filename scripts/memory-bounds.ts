/**
 * npm run memory:bounds — what each structure of the service that grows with client input holds when it is full,
 * with worst-case entries (identifiers at their longest): heap (V8, under the heap cap) and external (Buffers,
 * outside it). Run with --expose-gc (the npm script does). The figures are the basis of the heap cap's margin in
 * docs/decisions.md ("Memory").
 */
import { createSecretKey } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  ActiveContacts,
  ACTIVE_CONTACTS_CAPACITY,
  ACTIVE_CONTACTS_MAX_BYTES,
} from '../apps/orchestrator/src/contacts/active-contacts.js';
import { REMEMBERED_BATCHES } from '../apps/orchestrator/src/contacts/end-contact-batch.handler.js';
import { RememberedBatches } from '../apps/orchestrator/src/contacts/remembered-batches.js';
import { MAX_TRACKED, RefusalRecorder } from '../apps/orchestrator/src/contacts/refusal-recorder.js';
import type { EndContactBatchResult } from '../apps/orchestrator/src/contacts/end-contact-batch.command.js';
import { loadToolConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { keyRing, VerifiedSecurityUsers, type SecurityProfile, type Agent } from '#security';
import type { EventStore } from '#event-store';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc (npm run memory:bounds)');
  process.exit(2);
}

const config = loadToolConfiguration(process.env);
/** The longest identifier the API accepts (business unit, agent, profile, Idempotency-Key). */
const id = (prefix: string, i: number): string => `${prefix}-${i}-`.padEnd(128, 'x');
const contactId = (i: number): string => String(9_000_000_000_000_000_000n + BigInt(i));
const MB = 1024 * 1024;

type Row = { structure: string; bound: string; heapMB: number; externalMB: number };
const rows: Row[] = [];
const held: unknown[] = [];

async function measure(structure: string, bound: string, fill: () => unknown): Promise<void> {
  gc!();
  gc!();
  const before = process.memoryUsage();
  held.push(await fill());
  gc!();
  gc!();
  const after = process.memoryUsage();
  rows.push({
    structure,
    bound,
    heapMB: (after.heapUsed - before.heapUsed) / MB,
    externalMB: (after.external - before.external) / MB,
  });
}

await measure(
  'ActiveContacts',
  `${ACTIVE_CONTACTS_CAPACITY.toLocaleString('en')} contacts, ${ACTIVE_CONTACTS_MAX_BYTES / MB} MiB`,
  () => {
    const active = new ActiveContacts();
    const startedAt = new Date().toISOString();
    for (let i = 0; i < ACTIVE_CONTACTS_CAPACITY; i++) {
      active.remember(
        {
          status: 'Active',
          contactId: contactId(i),
          businessUnitId: id('bu', i % 100),
          mediaType: 'Phone',
          startedAt,
          skill: id('skill', i),
        },
        1n,
      );
    }
    return active;
  },
);

await measure('verified SecurityUsers', '10,000 tokens', async () => {
  const ring = keyRing([{ kid: 'k'.repeat(64), key: createSecretKey(Buffer.alloc(32, 7)) }], 3600);
  const verified = new VerifiedSecurityUsers(ring);
  const { issueSecurityUser } = await import('#security');
  const now = new Date();
  for (let i = 0; i < 10_000; i++) {
    const { securityUser } = await issueSecurityUser(
      { agentId: id('agent', i), businessUnitId: id('bu', i) },
      ring,
      3600,
      now,
    );
    await verified.verify(securityUser, now);
  }
  return verified;
});

await measure('directory entries', '10,000 agents', () => {
  // DirectoryService's entry per agent: the agent and its profile as folded, its two stream names, a position.
  const entries = new LRUCache<string, { agent: Agent; profile: SecurityProfile; streams: string[]; position: bigint }>(
    {
      max: 10_000,
    },
  );
  const permissions = ['Contacts.End', 'Contacts.View', 'Contacts.Start', 'Audit.Read', 'Directory.Admin'];
  for (let i = 0; i < 10_000; i++) {
    const agentId = id('agent', i);
    const profileId = id('profile', i);
    entries.set(agentId, {
      agent: { agentId, businessUnitId: id('bu', i), securityProfileId: profileId, active: true },
      profile: { profileId, name: id('name', i), permissions: permissions.map((p) => `${p}`) },
      streams: [`agent-${agentId}`, `security-profile-${profileId}`],
      position: BigInt(i),
    });
  }
  return entries;
});

await measure('refusal budgets', `${MAX_TRACKED.toLocaleString('en')} callers`, async () => {
  const store = { append: async () => ({ position: 1n }), readStream: async () => [] } as unknown as EventStore;
  const logger = { error: () => undefined, warn: () => undefined } as never;
  const recorder = new RefusalRecorder(store, config, logger, { flushMs: 3_600_000 });
  const metadata = { commandId: 'c', correlationId: 'c', causationId: 'c', source: 'http', schemaVersion: 1 } as const;
  for (let i = 0; i < MAX_TRACKED; i++) {
    const agentId = id('agent', i);
    const data = {
      contactId: contactId(i),
      reason: 'InvalidContactID',
      detail: `Contact ${contactId(i)} not found`,
      agentId,
      businessUnitId: id('bu', i),
      rejectedAt: new Date().toISOString(),
    };
    // Past the budget: the refusal is counted in the caller's window (pending), the worst case of a window.
    for (let n = 0; n <= config.agentRefusalsPerMinute; n++)
      await recorder.record({ type: 'EndContactRejected', data } as never, metadata, '127.0.0.1');
  }
  return recorder;
});

await measure(
  'remembered bulk answers',
  `END_BATCH_REMEMBERED_BYTES ${config.endBatchRememberedBytes / MB} MiB, ${REMEMBERED_BATCHES.toLocaleString('en')} answers`,
  () => {
    const cache = new RememberedBatches(config.endBatchRememberedBytes, REMEMBERED_BATCHES);
    const endedAt = new Date().toISOString();
    for (let b = 0; b < REMEMBERED_BATCHES; b++) {
      const results = Array.from({ length: 1_000 }, (_, i) => {
        const c = contactId(b * 1_000 + i);
        return {
          contactId: c,
          branch: 'OnInvalidContactID' as const,
          status: 409,
          error: { code: 'InvalidContactID', message: `Contact ${c} is not active (ended at ${endedAt})` },
        };
      });
      const result: EndContactBatchResult = {
        caller: { branch: 'OnSuccess', status: 200 },
        results,
        summary: { OnSuccess: 0, OnInvalidSecurityUser: 0, OnUnauthorized: 0, OnInvalidContactID: 1_000, Default: 0 },
      };
      const answer = Promise.resolve(result);
      const key = `${id('agent', 0)}\u0000${id('batch', b)}`;
      cache.running(key, answer);
      cache.finished(key, answer, result);
    }
    return cache;
  },
);

console.log('| structure | bound | heap MB | external MB |');
console.log('| --- | --- | ---: | ---: |');
for (const r of rows)
  console.log(`| ${r.structure} | ${r.bound} | ${r.heapMB.toFixed(1)} | ${r.externalMB.toFixed(1)} |`);
const heap = rows.reduce((sum, r) => sum + r.heapMB, 0);
const external = rows.reduce((sum, r) => sum + r.externalMB, 0);
console.log(`| all full at once | | ${heap.toFixed(1)} | ${external.toFixed(1)} |`);
