/**
 * Picks the EventStore adapter from configuration, and gives beside the store what that adapter offers
 * (StoreCapabilities): the app asks for a capability, never for the adapter's class or name. The embedded default is a
 * SQLite file under DATA_DIR; EVENT_STORE=esdb connects to EventStoreDB/KurrentDB, EVENT_STORE=postgres to PostgreSQL
 * (its schema migrated at start); both fail fast at start when the store cannot be reached.
 */
import type { Provider } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EventStoreAccessDeniedError, SqliteEventStore, type EmbeddedLog, type EventStore } from '#event-store';
import { InvalidConnectionStringError, maskConnectionStrings, maskPostgresUrl } from '#event-store';
import type { ViewsSource } from '#projections';
import { ConfigurationError, type AppConfig } from '../config/configuration.js';
import { StartupError } from '../config/startup-error.js';
import type { AppLogger } from './logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER, STORE_CAPABILITIES } from './tokens.js';

/** What the adapter in use offers beside the port (STORE_CAPABILITIES). */
export type StoreCapabilities = {
  /** Where the views thread reads the log: the embedded store's file, or the shared store through a client of its own. */
  readonly viewsSource: ViewsSource;
  /**
   * The embedded log's own access: word of each commit of this process for the views, its file for the audit
   * export's pages of stored text. Undefined for EventStoreDB, whose log the export reads through the port.
   */
  readonly embeddedLog: EmbeddedLog | undefined;
  /**
   * Where the store answers it far more cheaply than reading the streams (one index lookup in the embedded log): the
   * position of the newest event of these streams, undefined when none of them exists. Streams folded up to that
   * position are unchanged for as long as it stays the same (every process's appends included).
   */
  readonly newestPositionOf: ((streamIds: readonly string[]) => Promise<bigint | undefined>) | undefined;
  /** Positions number the events one by one, so head minus a checkpoint counts events (/metrics' subscription lag). */
  readonly positionsCountEvents: boolean;
  /**
   * Resolves, naming it, when a part of the store that runs beside the service stops without being asked to (the
   * embedded store's writer thread); never for a store with no such part, nor once the store is closed.
   */
  stopped(): Promise<string>;
};

/** The adapter configuration picks, before it is opened. */
export type EventStoreAdapter = {
  /**
   * The log is this node's own, under DATA_DIR (the embedded store): a platform token or signing key the environment
   * does not give is generated and kept beside it (config/embedded-secrets.ts). Otherwise the environment gives both.
   */
  readonly secretsInDataDir: boolean;
  open(logger: AppLogger): Promise<OpenedEventStore>;
};

export type OpenedEventStore = { store: EventStore; capabilities: StoreCapabilities };

/** The one place that reads EVENT_STORE. */
export function eventStoreAdapter(config: AppConfig): EventStoreAdapter {
  switch (config.eventStore) {
    case 'esdb':
      return { secretsInDataDir: false, open: (logger) => openEsdb(config, logger) };
    case 'postgres':
      return { secretsInDataDir: false, open: (logger) => openPostgres(config, logger) };
    case 'sqlite':
      return { secretsInDataDir: true, open: (logger) => openSqlite(config, logger) };
  }
}

/**
 * The shared log (EventStoreDB or PostgreSQL) as the offline tools read it (views rebuild and verify, audit export,
 * re-publish): through the port, without the service's start-up checks. Not for the embedded store.
 */
export async function sharedEventStore(config: AppConfig): Promise<EventStore> {
  if (config.eventStore === 'postgres') {
    const { PostgresEventStore } = await import('#event-store/postgres');
    return new PostgresEventStore(config.postgresConnectionString!, { storeTimeoutMs: config.storeTimeoutMs });
  }
  const { EsdbEventStore } = await import('#event-store/esdb');
  return new EsdbEventStore(config.esdbConnectionString!);
}

/** Resolves never: nothing of this store runs beside the service. */
const never = (): Promise<string> => new Promise<never>(() => undefined);

async function openEsdb(config: AppConfig, logger: AppLogger): Promise<OpenedEventStore> {
  // Loaded only here: the gRPC client is not needed by the embedded store.
  const { EsdbEventStore } = await import('#event-store/esdb');
  let store: InstanceType<typeof EsdbEventStore>;
  try {
    store = new EsdbEventStore(config.esdbConnectionString!);
  } catch (error) {
    // Configuration checked the string already; this keeps a refusal an exit 78 if that check is ever bypassed.
    if (error instanceof InvalidConnectionStringError)
      throw new ConfigurationError('ESDB_CONNECTION_STRING', error.message);
    throw error;
  }
  try {
    await store.ping();
  } catch (error) {
    await store.close();
    const problem = error instanceof EventStoreAccessDeniedError ? "refuses the service's user" : 'is not reachable';
    // The client's message may quote the address it tried; the cause is not kept, so nothing prints it whole.
    throw new StartupError(
      `EventStoreDB ${problem} at ESDB_CONNECTION_STRING: ${maskConnectionStrings((error as Error).message)}`,
    );
  }
  logger.info('event store: EventStoreDB');
  // An EventStoreDB position is a pair of log offsets: it does not count events.
  return {
    store,
    capabilities: {
      viewsSource: { kind: 'esdb', connectionString: config.esdbConnectionString! },
      embeddedLog: undefined,
      newestPositionOf: undefined,
      positionsCountEvents: false,
      stopped: never,
    },
  };
}

async function openPostgres(config: AppConfig, logger: AppLogger): Promise<OpenedEventStore> {
  // Loaded only here: node-postgres is not needed by the other stores.
  const { PostgresEventStore } = await import('#event-store/postgres');
  const connectionString = config.postgresConnectionString!;
  const store = new PostgresEventStore(connectionString, {
    storeTimeoutMs: config.storeTimeoutMs,
    onListener: (state, error) =>
      state === 'lost'
        ? logger.warn(
            { err: error },
            'event store: the PostgreSQL listener is lost; subscriptions poll until it is back (retried every second)',
          )
        : logger.info('event store: the PostgreSQL listener is back'),
  });
  try {
    await store.opened();
  } catch (error) {
    await store.close();
    throw new StartupError(
      `PostgreSQL is not reachable or its schema cannot be prepared at POSTGRES_URL (${maskPostgresUrl(connectionString)}): ${maskPostgresUrl((error as Error).message)}`,
    );
  }
  logger.info({ url: store.location }, 'event store: PostgreSQL');
  // A position folds a transaction id and an index (docs/decisions.md, PostgreSQL event store): it does not count events.
  return {
    store,
    capabilities: {
      viewsSource: { kind: 'postgres', connectionString },
      embeddedLog: undefined,
      newestPositionOf: undefined,
      positionsCountEvents: false,
      stopped: never,
    },
  };
}

async function openSqlite(config: AppConfig, logger: AppLogger): Promise<OpenedEventStore> {
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'events.db');
  logger.info({ file }, 'event store: embedded SQLite');
  const store = new SqliteEventStore(file, { storeTimeoutMs: config.storeTimeoutMs });
  try {
    await store.opened();
  } catch (error) {
    await store.close();
    throw new StartupError(`the embedded event store cannot be opened under DATA_DIR: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const embeddedLog = store.embeddedLog();
  return {
    store,
    capabilities: {
      viewsSource: { kind: 'sqlite', file: embeddedLog.file },
      embeddedLog,
      newestPositionOf: (streamIds) => store.newestPositionOf(streamIds),
      positionsCountEvents: true,
      stopped: () => store.failed().then((error) => error.message),
    },
  };
}

/** The opened adapter, from which the two providers below take the store and its capabilities. */
const OPENED_EVENT_STORE = Symbol('OPENED_EVENT_STORE');

export const eventStoreProviders: Provider[] = [
  {
    provide: OPENED_EVENT_STORE,
    inject: [APP_CONFIG, LOGGER],
    useFactory: (config: AppConfig, logger: AppLogger) => eventStoreAdapter(config).open(logger),
  },
  { provide: EVENT_STORE, inject: [OPENED_EVENT_STORE], useFactory: (opened: OpenedEventStore) => opened.store },
  {
    provide: STORE_CAPABILITIES,
    inject: [OPENED_EVENT_STORE],
    useFactory: (opened: OpenedEventStore) => opened.capabilities,
  },
];
