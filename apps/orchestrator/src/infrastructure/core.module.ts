import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/configuration.js';
import type { Secrets } from '../config/embedded-secrets.js';
import { eventStoreProviders } from './event-store.provider.js';
import type { AppLogger } from './logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER, SECRETS, STORE_CAPABILITIES } from './tokens.js';

/**
 * What every feature shares: the configuration (validated before Nest starts, so a wrong value exits 78 with its
 * name, then held by @nestjs/config), the secrets, the logger, the event store and what its adapter offers.
 */
@Global()
@Module({})
export class CoreModule {
  static register(options: { config: AppConfig; secrets: Secrets; logger: AppLogger }): DynamicModule {
    return {
      module: CoreModule,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ app: options.config })] })],
      providers: [
        {
          provide: APP_CONFIG,
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.getOrThrow<AppConfig>('app'),
        },
        { provide: SECRETS, useValue: options.secrets },
        { provide: LOGGER, useValue: options.logger },
        ...eventStoreProviders,
      ],
      exports: [APP_CONFIG, SECRETS, LOGGER, EVENT_STORE, STORE_CAPABILITIES],
    };
  }
}
