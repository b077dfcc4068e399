/**
 * Picks the EventStore adapter from configuration. The embedded default is a SQLite file under DATA_DIR;
 * EVENT_STORE=esdb connects to EventStoreDB/KurrentDB and fails fast at start when it cannot be reached.
 */
import type { Provider } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore, type EventStore } from '../../../../libs/event-store/src/index.js';
import { EsdbEventStore } from '../../../../libs/event-store/src/esdb/esdb-event-store.js';
import type { AppConfig } from '../config/configuration.js';
import { StartupError } from '../config/startup-error.js';
import type { AppLogger } from './logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER } from './tokens.js';

export async function openEventStore(config: AppConfig, logger: AppLogger): Promise<EventStore> {
  if (config.eventStore === 'esdb') {
    const store = new EsdbEventStore(config.esdbConnectionString!);
    try {
      await store.ping();
    } catch (error) {
      await store.close();
      throw new StartupError(`EventStoreDB is not reachable at ESDB_CONNECTION_STRING: ${(error as Error).message}`, { cause: error });
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
    throw new StartupError(`the embedded event store cannot be opened under DATA_DIR: ${(error as Error).message}`, { cause: error });
  }
  return store;
}

export const eventStoreProvider: Provider = {
  provide: EVENT_STORE,
  inject: [APP_CONFIG, LOGGER],
  useFactory: (config: AppConfig, logger: AppLogger) => openEventStore(config, logger),
};
