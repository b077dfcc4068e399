import { Inject, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown, type BeforeApplicationShutdown } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { EventStore } from '#event-store';
import type { AppConfig } from './config/configuration.js';
import type { Secrets } from './config/embedded-secrets.js';
import { ContactStreamController, ContactStreams } from './contacts/contact-stream.controller.js';
import { ContactsController } from './contacts/contacts.controller.js';
import { EndContactHandler } from './contacts/end-contact.handler.js';
import { RefusalRecorder } from './contacts/refusal-recorder.js';
import { StartContactHandler } from './contacts/start-contact.handler.js';
import { StudioActionController } from './contacts/studio-action.controller.js';
import { DirectoryController } from './directory/directory.controller.js';
import { DirectoryService } from './directory/directory.service.js';
import { HealthController } from './health/health.controller.js';
import { Credentials } from './http/auth.js';
import { eventStoreProvider } from './infrastructure/event-store.provider.js';
import { requestLog, type AppLogger } from './infrastructure/logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER, SECRETS } from './infrastructure/tokens.js';
import { ViewsService } from './infrastructure/views.service.js';
import { KafkaCommandsStatus } from './kafka/kafka-support.js';
import { FanoutService } from './fanout/fanout.service.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { Metrics } from './metrics/metrics.js';

/** Starts the subscriptions after boot; at shutdown (HTTP already drained) closes everything in order. */
class Lifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly views: ViewsService,
    private readonly streams: ContactStreams,
    private readonly refusals: RefusalRecorder,
    private readonly fanout: FanoutService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LOGGER) private readonly logger: AppLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.views.start();
    this.fanout.start();
  }

  beforeApplicationShutdown(): void {
    // Open event streams would keep the HTTP server from closing.
    this.streams.closeAll();
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    await this.refusals.close();
    await this.views.stop();
    await this.fanout.stop();
    await this.store.close();
    this.logger.info({ signal }, 'stopped: in-flight commands finished, stores closed');
  }
}

@Module({})
export class AppModule {
  static register(options: { config: AppConfig; secrets: Secrets; logger: AppLogger }): DynamicModule {
    return {
      module: AppModule,
      imports: [LoggerModule.forRoot(requestLog(options.logger)), CqrsModule.forRoot(), TerminusModule],
      controllers: [ContactsController, ContactStreamController, StudioActionController, DirectoryController, HealthController, MetricsController],
      providers: [
        { provide: APP_CONFIG, useValue: options.config },
        { provide: SECRETS, useValue: options.secrets },
        { provide: LOGGER, useValue: options.logger },
        eventStoreProvider,
        ViewsService,
        DirectoryService,
        Credentials,
        RefusalRecorder,
        ContactStreams,
        EndContactHandler,
        StartContactHandler,
        Lifecycle,
        KafkaCommandsStatus,
        FanoutService,
        Metrics,
      ],
    };
  }
}
