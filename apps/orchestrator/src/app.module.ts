import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { EventStore } from '#event-store';
import type { AppConfig } from './config/configuration.js';
import type { Secrets } from './config/embedded-secrets.js';
import { AdminModule } from './admin/admin.module.js';
import { AuditModule } from './audit/audit.module.js';
import { ContactsModule } from './contacts/contacts.module.js';
import { ContactStreams } from './contacts/contact-stream.controller.js';
import { RefusalRecorder } from './contacts/refusal-recorder.js';
import { DirectoryModule } from './directory/directory.module.js';
import { FanoutModule } from './fanout/fanout.module.js';
import { FanoutService } from './fanout/fanout.service.js';
import { CoreModule } from './infrastructure/core.module.js';
import type { AppLogger } from './infrastructure/logger.js';
import { EVENT_STORE, LOGGER } from './infrastructure/tokens.js';
import { KafkaCommandsService } from './kafka/kafka-commands.js';
import { KafkaCommandsModule } from './kafka/kafka-commands.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { ReadSideModule } from './read-side/read-side.module.js';
import { ViewsService } from './read-side/views.service.js';
import { SupervisorPageModule } from './supervisor/supervisor-page.module.js';

/**
 * Starts the subscriptions and the Kafka commands consumer after boot; at shutdown (HTTP already drained) closes
 * everything in order. AppModule is the root, so Nest runs this bootstrap hook after every imported module's,
 * CqrsModule's (which registers the command handlers) included: no Kafka command reaches the bus before its handler.
 */
class Lifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly views: ViewsService,
    private readonly streams: ContactStreams,
    private readonly refusals: RefusalRecorder,
    private readonly fanout: FanoutService,
    private readonly kafkaCommands: KafkaCommandsService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LOGGER) private readonly logger: AppLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.views.start();
    this.fanout.start();
    await this.kafkaCommands.start();
  }

  beforeApplicationShutdown(): void {
    // Open event streams would keep the HTTP server from closing.
    this.streams.closeAll();
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    // First: the command in hand goes through the bus (its refusal recorded, its event appended) and is answered.
    await this.kafkaCommands.stop();
    await this.refusals.close();
    await this.views.stop();
    await this.fanout.stop();
    await this.store.close();
    this.logger.info({ signal }, 'stopped: in-flight commands finished, stores closed');
  }
}

/** One module per feature; this one only puts them together and orders start and shutdown. */
@Module({})
export class AppModule {
  static register(options: { config: AppConfig; secrets: Secrets; logger: AppLogger }): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(options),
        CqrsModule.forRoot(),
        ObservabilityModule,
        DirectoryModule,
        ReadSideModule,
        ContactsModule,
        KafkaCommandsModule,
        FanoutModule,
        SupervisorPageModule,
        AuditModule,
        AdminModule,
      ],
      providers: [Lifecycle],
    };
  }
}
