/**
 * What the forwarder's integration suites share: one deployment's names, temp SQLite stores cleaned after each test,
 * a recording logger.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { SqliteEventStore } from '#event-store';
import type { Log, LogFn } from '#runtime';
import { OutcomeForwarder, type OutcomeForwarderOptions } from '../outcome-forwarder.js';

export type Cleanups = Array<() => Promise<void> | void>;

/** One forwarder deployment's names (outcomes topic, checkpoint topic, name, transactional ID), unique to a test. */
export function deploymentNames(test: string): {
  topic: string;
  checkpointTopic: string;
  name: string;
  transactionalId: string;
} {
  const id = `${test}-${Date.now()}-${randomBytes(3).toString('hex')}`;
  return {
    topic: `outcomes-${id}`,
    checkpointTopic: `outcomes-checkpoints-${id}`,
    name: `forwarder-${id}`,
    transactionalId: `tx-${id}`,
  };
}

/** Cleanups registered during a test run after it, last registered first. */
export function afterEachCleanups(): Cleanups {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

/** A maker of fresh temp stores, each closed and removed after the test that made it. */
export function tempStores(cleanups: Cleanups, prefix: string): () => SqliteEventStore {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    const store = new SqliteEventStore(join(dir, 'events.db'));
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return store;
  };
}

export function recordingLogger(): Log & { lines: string[] } {
  const lines: string[] = [];
  const record =
    (level: string): LogFn =>
    (first: string | object, message?: string) =>
      void lines.push(`${level} ${typeof first === 'string' ? first : message}`);
  return { lines, info: record('INFO'), warn: record('WARN'), error: record('ERROR'), debug: record('DEBUG') };
}

/** Forwarders on `brokers` under one Kafka client ID, each stopped after its test. */
export function forwarders(
  cleanups: Cleanups,
  brokers: string[],
  clientId: string,
): (store: SqliteEventStore, options: Partial<OutcomeForwarderOptions>, logger?: Log) => OutcomeForwarder {
  return (store, options, logger = recordingLogger()) => {
    const f = new OutcomeForwarder({ store, kafka: { clientId, brokers }, logger, ...options });
    cleanups.push(() => f.stop());
    return f;
  };
}
