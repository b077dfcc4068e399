/**
 * Test support for the forwarder's integration tests: a mixed workload appended to a real event store, a reader of
 * everything a topic holds (read_committed or not), and the exactly-once check of what was read against the store.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { EventMetadata, EventStore, RecordedEvent } from '#event-store';
import { isOutcome, type OutcomeValue } from '../outcome-message.js';

const metadata = (): EventMetadata => ({
  commandId: randomUUID(),
  correlationId: randomUUID(),
  causationId: randomUUID(),
  source: 'http',
  schemaVersion: 1,
});

const now = (): string => new Date().toISOString();

type Append = () => Promise<unknown>;

/** One random event: mostly outcomes (ContactEnded / EndContactRejected), the rest ContactStarted and directory events. */
export function randomAppend(store: EventStore, contactIds: string[], outcomeShare = 0.6): Append {
  const contactId = contactIds[Math.floor(Math.random() * contactIds.length)]!;
  const roll = Math.random();
  if (roll < outcomeShare * 0.3) return () => appendEnded(store, contactId);
  if (roll < outcomeShare) return () => appendRejected(store, contactId);
  if (roll < outcomeShare + (1 - outcomeShare) / 2) return () => appendStarted(store, contactId);
  return () => appendDirectory(store);
}

export const appendStarted = (store: EventStore, contactId: string): Promise<unknown> =>
  store.append(
    `contact-${contactId}`,
    [
      {
        id: randomUUID(),
        type: 'ContactStarted',
        data: { contactId, businessUnitId: 'bu-1', mediaType: 'Chat', startedAt: now() },
        metadata: metadata(),
      },
    ],
    { expectedRevision: 'any' },
  );

export const appendEnded = (store: EventStore, contactId: string): Promise<unknown> =>
  store.append(
    `contact-${contactId}`,
    [
      {
        id: randomUUID(),
        type: 'ContactEnded',
        data: {
          contactId,
          businessUnitId: 'bu-1',
          mediaType: 'Chat',
          endedBy: 'agent-1',
          disconnectReason: 'TerminateScript',
          endedAt: now(),
        },
        metadata: metadata(),
      },
    ],
    { expectedRevision: 'any' },
  );

export const appendRejected = (store: EventStore, contactId: string): Promise<unknown> =>
  store.append(
    `end-contact-rejections-${now().slice(0, 10)}`,
    [
      {
        id: randomUUID(),
        type: 'EndContactRejected',
        data: {
          contactId,
          reason: 'Unauthorized',
          detail: 'lacks Contacts.End',
          agentId: 'agent-2',
          businessUnitId: 'bu-1',
          rejectedAt: now(),
        },
        metadata: metadata(),
      },
    ],
    { expectedRevision: 'any' },
  );

export const appendDirectory = (store: EventStore): Promise<unknown> => {
  const agentId = `agent-${Math.floor(Math.random() * 20)}`;
  return Math.random() < 0.5
    ? store.append(
        `agent-${agentId}`,
        [
          {
            id: randomUUID(),
            type: 'AgentRegistered',
            data: { agentId, businessUnitId: 'bu-1', securityProfileId: 'p-1', active: true },
            metadata: metadata(),
          },
        ],
        { expectedRevision: 'any' },
      )
    : store.append(
        'security-profile-p-1',
        [
          {
            id: randomUUID(),
            type: 'SecurityProfileDefined',
            data: { profileId: 'p-1', name: 'Agents', permissions: ['Contacts.End'] },
            metadata: metadata(),
          },
        ],
        { expectedRevision: 'any' },
      );
};

/** `outcomes` ContactEnded/EndContactRejected over `contactIds`, shuffled with ContactStarted and directory events. */
export async function appendWorkload(store: EventStore, contactIds: string[], outcomes: number): Promise<void> {
  const appends: Append[] = contactIds.map((id) => () => appendStarted(store, id));
  contactIds.forEach((id, i) => i < outcomes && appends.push(() => appendEnded(store, id)));
  for (let i = contactIds.length; i < outcomes; i++) {
    appends.push(() => appendRejected(store, contactIds[Math.floor(Math.random() * contactIds.length)]!));
  }
  for (let i = 0; i < Math.ceil(outcomes / 4); i++) appends.push(() => appendDirectory(store));
  appends.sort(() => Math.random() - 0.5);
  // Ten at a time: several appends share one SQLite commit, as under real load.
  for (let i = 0; i < appends.length; i += 10) await Promise.all(appends.slice(i, i + 10).map((append) => append()));
}

export const contactIdsFor = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => String(1_000_000_000 + Math.floor(Math.random() * 1_000_000) * 100 + i));

export async function allEvents(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll({
      ...(events.length > 0 ? { after: events[events.length - 1]!.position } : {}),
      maxCount: 1000,
    });
    if (page.length === 0) return events;
    events.push(...page);
  }
}

export interface Received {
  partition: number;
  offset: bigint;
  key: string;
  value: OutcomeValue;
  headers: Record<string, string>;
}

/**
 * Everything `topic` holds, read by a fresh consumer group from the beginning: up to the last stable offset of each
 * partition, taken again until it stops moving (EndTxn answers before the commit markers are written, so the LSO
 * can trail the last commit for a moment), and until `until` holds.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  options: { readUncommitted?: boolean; timeoutMs: number; until?: (received: Received[]) => boolean },
): Promise<Received[]> {
  const deadline = Date.now() + options.timeoutMs;
  const admin = kafka.admin();
  const consumer = kafka.consumer({
    groupId: `verify-${randomUUID()}`,
    readUncommitted: options.readUncommitted ?? false,
    maxWaitTimeInMs: 250,
  });
  const reached = new Map<number, bigint>();
  const received: Received[] = [];
  const stableOffsets = async (): Promise<string> =>
    JSON.stringify(
      (await admin.fetchTopicOffsets(topic))
        .map((p) => [p.partition, p.high])
        .sort((a, b) => Number(a[0]) - Number(b[0])),
    );
  const reachedAll = (ends: string): boolean =>
    (JSON.parse(ends) as Array<[number, string]>).every(
      ([p, end]) => end === '0' || (reached.get(p) ?? -1n) >= BigInt(end) - 1n,
    );
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    reached.set(payload.partition, BigInt(payload.lastOffset));
  });
  await admin.connect();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        received.push({
          partition,
          offset: BigInt(message.offset),
          key: message.key?.toString() ?? '',
          value: JSON.parse(message.value?.toString() ?? 'null') as OutcomeValue,
          headers,
        });
      },
    });
    for (
      let ends = await stableOffsets(), previous = '';
      ends !== previous;
      previous = ends, ends = await stableOffsets()
    ) {
      while (!reachedAll(ends) || !(options.until?.(received) ?? true)) {
        if (Date.now() > deadline)
          throw new Error(`reading ${topic} timed out after ${options.timeoutMs} ms (${received.length} records)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await consumer.disconnect();
    await admin.disconnect();
  }
  return received.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
}

export interface ExactlyOnceReport {
  expected: number;
  received: number;
  missing: string[];
  duplicated: string[];
  unexpected: string[];
  outOfOrder: string[];
  malformed: string[];
}

/** Every outcome in the store exactly once, keyed by contact, in position order per contact, headers right. */
export function checkExactlyOnce(events: RecordedEvent[], received: Received[]): ExactlyOnceReport {
  const expected = new Map(events.filter(isOutcome).map((e) => [e.id, e]));
  const counts = new Map<string, number>();
  const lastPositionByKey = new Map<string, bigint>();
  const partitionByKey = new Map<string, number>();
  const report: ExactlyOnceReport = {
    expected: expected.size,
    received: received.length,
    missing: [],
    duplicated: [],
    unexpected: [],
    outOfOrder: [],
    malformed: [],
  };
  for (const r of received) {
    const id = r.value.eventId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    const event = expected.get(id);
    if (!event) {
      report.unexpected.push(`${r.value.type} ${id}`);
      continue;
    }
    const position = BigInt(r.value.position);
    const wellFormed =
      r.key === event.data['contactId'] &&
      position === event.position &&
      r.value.revision === event.revision.toString() &&
      r.value.streamId === event.streamId &&
      r.headers['event-type'] === event.type &&
      r.headers['event-id'] === event.id &&
      r.headers['correlation-id'] === event.metadata.correlationId;
    if (!wellFormed) report.malformed.push(id);
    if ((partitionByKey.get(r.key) ?? r.partition) !== r.partition)
      report.outOfOrder.push(`${r.key} on two partitions`);
    partitionByKey.set(r.key, r.partition);
    const previous = lastPositionByKey.get(r.key);
    if (previous !== undefined && previous >= position)
      report.outOfOrder.push(`${r.key}: ${previous} then ${position}`);
    lastPositionByKey.set(r.key, position);
  }
  for (const [id, n] of counts) if (n > 1) report.duplicated.push(`${id} x${n}`);
  for (const id of expected.keys()) if (!counts.has(id)) report.missing.push(id);
  return report;
}
