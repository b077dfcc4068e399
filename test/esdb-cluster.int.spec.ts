/**
 * EndContact over a three-node EventStoreDB cluster (test/harness/esdb-cluster.ts: three fake nodes, gossip
 * answering who leads) whose leader changes while contacts are being ended, twice per contact by different
 * commands: every contact keeps exactly one end, and every end the handler acknowledged is in the log.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EsdbEventStore } from '#event-store/esdb';
import { FakeEsdbCluster } from '#harness/esdb-cluster';
import { loadConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { ActiveContacts } from '../apps/orchestrator/src/contacts/active-contacts.js';
import { EndContactCommand } from '../apps/orchestrator/src/contacts/end-contact.command.js';
import { EndContactHandler } from '../apps/orchestrator/src/contacts/end-contact.handler.js';
import { RefusalRecorder } from '../apps/orchestrator/src/contacts/refusal-recorder.js';
import { agentDirectory, endRequest, quiet } from '../apps/orchestrator/src/contacts/testing/fixtures.js';
import { Metrics } from '../apps/orchestrator/src/observability/metrics.js';

const agent = agentDirectory;

const CONTACTS = 40;

describe('EndContact on a three-node cluster through a leader change', () => {
  let cluster: FakeEsdbCluster;
  let store: EsdbEventStore;
  let refusals: RefusalRecorder;
  let handler: EndContactHandler;

  beforeAll(async () => {
    cluster = await FakeEsdbCluster.start();
    store = new EsdbEventStore(cluster.connectionString());
    refusals = new RefusalRecorder(store, loadConfiguration({}), quiet);
    handler = new EndContactHandler(store, agent, refusals, quiet, new Metrics(), new ActiveContacts());
  });
  afterAll(async () => {
    await refusals?.close();
    await store?.close();
    await cluster?.stop();
  });

  it('the client finds the leader by gossip', async () => {
    const id = `probe-${randomUUID()}`;
    await store.append(id, [event('Probe', {})], { expectedRevision: 'no_stream' });
    expect(cluster.leader.calls.appends).toBe(1);
    expect(cluster.nodes.reduce((sum, n) => sum + n.calls.gossip, 0)).toBeGreaterThan(0);
  });

  it('keeps exactly one end per contact, and loses no acknowledged end', async () => {
    const base = Date.now() * 1000;
    const contacts = Array.from({ length: CONTACTS }, (_, i) => String(base + i));
    for (const contactId of contacts) {
      const started = { contactId, businessUnitId: 'bu-1', mediaType: 'Chat', startedAt: new Date().toISOString() };
      await store.append(`contact-${contactId}`, [event('ContactStarted', started)], { expectedRevision: 'no_stream' });
    }
    const end = (contactId: string) => handler.execute(new EndContactCommand(endRequest(contactId)));

    const before = cluster.appends;
    // Two commands per contact, in flight together; the lead moves from node 0 to node 1 once some have landed.
    const results = contacts.flatMap((contactId) => [end(contactId), end(contactId)]);
    while (cluster.appends - before < CONTACTS / 4) await new Promise((r) => setImmediate(r));
    cluster.elect(1);
    const settled = await Promise.all(results);
    expect(cluster.elections).toEqual([[0, 1]]);
    // The old leader turned clients away, and the new one took writes.
    expect(cluster.nodes[0]!.calls.notLeader).toBeGreaterThan(0);
    expect(cluster.nodes[1]!.calls.appends).toBeGreaterThan(0);

    for (const [i, contactId] of contacts.entries()) {
      const stream = await store.readStream(`contact-${contactId}`);
      const ends = stream.filter((e) => e.type === 'ContactEnded');
      expect(ends, contactId).toHaveLength(1);
      // Every acknowledged end is that one event: the position the handler answered is the event's.
      for (const result of [settled[2 * i]!, settled[2 * i + 1]!]) {
        if (result.branch !== 'OnSuccess') continue;
        expect(result.contactId).toBe(contactId);
        expect(result.position, contactId).toBe(ends[0]!.position.toString());
      }
      // At least one of the two commands was told the contact ended.
      expect(
        [settled[2 * i]!, settled[2 * i + 1]!].some((r) => r.branch === 'OnSuccess'),
        `${contactId}: ${JSON.stringify([settled[2 * i], settled[2 * i + 1]])}`,
      ).toBe(true);
    }
  });
});

function event(type: string, data: Record<string, unknown>) {
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1 },
  };
}
