/**
 * Authentication reuses a folded directory entry only while its streams are unchanged: a write by another process
 * (another SqliteEventStore on the same file, with its own writer thread) is seen at the very next command.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, type EventStore } from '#event-store';
import type { AppConfig } from '../config/configuration.js';
import type { Secrets } from '../config/embedded-secrets.js';
import { DirectoryService } from './directory.service.js';

const secrets = {
  platformToken: 'p',
  generatedPlatformToken: false,
  securityUserSigningKeys: [{ kid: 'k1', secret: 'directory-int-spec-signing-key-32-bytes-long' }],
} as Secrets;
const config = { securityUserTtlSeconds: 3_600 } as AppConfig;
const metadata = { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1 };

/** Counts stream reads and position lookups, so a test can tell a reused entry from a fresh read. */
function counting(store: SqliteEventStore): EventStore & {
  reads: number;
  lookups: number;
  newestPositionOf: (streamIds: readonly string[]) => Promise<bigint | undefined>;
} {
  const counted = Object.create(store) as ReturnType<typeof counting>;
  counted.reads = 0;
  counted.lookups = 0;
  counted.readStream = (streamId) => {
    counted.reads++;
    return store.readStream(streamId);
  };
  counted.newestPositionOf = (streamIds) => {
    counted.lookups++;
    return store.newestPositionOf(streamIds);
  };
  return counted;
}

/** The store's capability as the embedded store's provider gives it (infrastructure/event-store.provider.ts). */
const lookupIn = (store: { newestPositionOf(streamIds: readonly string[]): Promise<bigint | undefined> }) => ({
  newestPositionOf: (streamIds: readonly string[]) => store.newestPositionOf(streamIds),
});

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('DirectoryService.authenticate, against the directory as it is now', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function twoProcesses() {
    const dir = mkdtempSync(join(tmpdir(), 'co-directory-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const here = new SqliteEventStore(join(dir, 'events.db'));
    cleanups.push(() => here.close());
    await here.opened();
    const other = new SqliteEventStore(join(dir, 'events.db'));
    cleanups.push(() => other.close());
    const store = counting(here);
    return {
      store,
      directory: new DirectoryService(store, secrets, config, lookupIn(store)),
      elsewhere: new DirectoryService(other, secrets, config, lookupIn(other)),
    };
  }

  it('reads the streams once, then only while they change; a deactivation by another process is refused at once', async () => {
    const { store, directory, elsewhere } = await twoProcesses();
    await directory.putProfile({ profileId: 'ender', name: 'Ender', permissions: ['Contacts.End'] }, metadata);
    await directory.putAgent(
      { agentId: 'a1', businessUnitId: 'bu1', securityProfileId: 'ender', active: true },
      metadata,
    );
    const { securityUser } = await directory.issue('a1');

    expect(await directory.authenticate(securityUser)).toMatchObject({
      kind: 'Agent',
      agentId: 'a1',
      permissions: ['Contacts.End'],
    });
    const readsAfterFirst = store.reads;
    for (let i = 0; i < 5; i++)
      expect(await directory.authenticate(securityUser)).toMatchObject({ kind: 'Agent', agentId: 'a1' });
    expect(store.reads).toBe(readsAfterFirst);

    // Another process takes the permission away, then deactivates the agent: each is seen by the next command.
    await elsewhere.putProfile({ profileId: 'ender', name: 'Ender', permissions: ['Contacts.View'] }, metadata);
    expect(await directory.authenticate(securityUser)).toMatchObject({ kind: 'Agent', permissions: ['Contacts.View'] });
    await elsewhere.putAgent(
      { agentId: 'a1', businessUnitId: 'bu1', securityProfileId: 'ender', active: false },
      metadata,
    );
    expect(await directory.authenticate(securityUser)).toMatchObject({ kind: 'Unauthenticated' });
    expect(store.reads).toBeGreaterThan(readsAfterFirst);
  });

  it('one lookup serves every command of a turn of the event loop; the next turn looks again and sees a change', async () => {
    const { store, directory, elsewhere } = await twoProcesses();
    await directory.putProfile({ profileId: 'ender', name: 'Ender', permissions: ['Contacts.End'] }, metadata);
    await directory.putAgent(
      { agentId: 'a4', businessUnitId: 'bu1', securityProfileId: 'ender', active: true },
      metadata,
    );
    const { securityUser } = await directory.issue('a4');
    await directory.authenticate(securityUser);
    await nextTurn();

    const before = store.lookups;
    const callers = await Promise.all(Array.from({ length: 10 }, () => directory.authenticate(securityUser)));
    expect(callers.every((caller) => caller.kind === 'Agent')).toBe(true);
    expect(store.lookups - before).toBe(1);
    await nextTurn();
    await directory.authenticate(securityUser);
    expect(store.lookups - before).toBe(2);

    // Another process's change lands between turns: the first command of the next turn looks and sees it.
    await elsewhere.putProfile({ profileId: 'ender', name: 'Ender', permissions: ['Contacts.View'] }, metadata);
    expect(await directory.authenticate(securityUser)).toMatchObject({ kind: 'Agent', permissions: ['Contacts.View'] });
  });

  it('sees an agent moved to another profile, and that profile’s later changes', async () => {
    const { directory, elsewhere } = await twoProcesses();
    await directory.putProfile({ profileId: 'viewer', name: 'Viewer', permissions: ['Contacts.View'] }, metadata);
    await directory.putProfile({ profileId: 'ender', name: 'Ender', permissions: ['Contacts.End'] }, metadata);
    await directory.putAgent(
      { agentId: 'a2', businessUnitId: 'bu1', securityProfileId: 'viewer', active: true },
      metadata,
    );
    const { securityUser } = await directory.issue('a2');
    expect(await directory.authenticate(securityUser)).toMatchObject({ permissions: ['Contacts.View'] });

    await elsewhere.putAgent(
      { agentId: 'a2', businessUnitId: 'bu1', securityProfileId: 'ender', active: true },
      metadata,
    );
    expect(await directory.authenticate(securityUser)).toMatchObject({ permissions: ['Contacts.End'] });
    await elsewhere.putProfile(
      { profileId: 'ender', name: 'Ender', permissions: ['Contacts.End', 'Contacts.View'] },
      metadata,
    );
    expect(await directory.authenticate(securityUser)).toMatchObject({
      permissions: ['Contacts.End', 'Contacts.View'],
    });
  });

  it('reads every time from a store that cannot tell the newest position cheaply (EventStoreDB)', async () => {
    const { store, directory } = await twoProcesses();
    await directory.putProfile({ profileId: 'ender', name: 'Ender', permissions: ['Contacts.End'] }, metadata);
    await directory.putAgent(
      { agentId: 'a3', businessUnitId: 'bu1', securityProfileId: 'ender', active: true },
      metadata,
    );
    const { securityUser } = await directory.issue('a3');
    const plain = new DirectoryService(store, secrets, config, { newestPositionOf: undefined });
    const before = store.reads;
    for (let i = 0; i < 3; i++) expect(await plain.authenticate(securityUser)).toMatchObject({ kind: 'Agent' });
    expect(store.reads - before).toBe(6);
  });
});
