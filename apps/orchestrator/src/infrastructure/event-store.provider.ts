/**
 * Picks the EventStore adapter from configuration. The embedded default is a SQLite file under DATA_DIR;
 * EVENT_STORE=esdb connects to EventStoreDB/KurrentDB and fails fast at start when it cannot be reached.
 */
import type { Provider } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EventStoreAccessDeniedError, SqliteEventStore, type EmbeddedLog, type EventStore } from '#event-store';
import { InvalidConnectionStringError, maskConnectionStrings } from '#event-store';
import { ConfigurationError, type AppConfig } from '../config/configuration.js';
import { StartupError } from '../config/startup-error.js';
import type { AppLogger } from './logger.js';
import { APP_CONFIG, EMBEDDED_LOG, EVENT_STORE, LOGGER } from './tokens.js';

export async function openEventStore(config: AppConfig, logger: AppLogger): Promise<EventStore> {
  if (config.eventStore === 'esdb') {
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
    return store;
  }
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
  return store;
}

export const eventStoreProvider: Provider = {
  provide: EVENT_STORE,
  inject: [APP_CONFIG, LOGGER],
  useFactory: (config: AppConfig, logger: AppLogger) => openEventStore(config, logger),
};

/** Provided beside the store: what callers that read the embedded log directly ask for, instead of its class. */
export const embeddedLogProvider: Provider = {
  provide: EMBEDDED_LOG,
  inject: [EVENT_STORE],
  useFactory: (store: EventStore): EmbeddedLog | null => store.embeddedLog?.() ?? null,
};
