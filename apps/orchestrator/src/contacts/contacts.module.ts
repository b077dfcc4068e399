import { Module } from '@nestjs/common';
import { DirectoryModule } from '../directory/directory.module.js';
import { ObservabilityModule } from '../observability/observability.module.js';
import { ReadSideModule } from '../read-side/read-side.module.js';
import { ContactStreamController, ContactStreams } from './contact-stream.controller.js';
import { ContactsController } from './contacts.controller.js';
import { EndContactBatchController } from './end-contact-batch.controller.js';
import { EndContactBatchHandler } from './end-contact-batch.handler.js';
import { ActiveContacts } from './active-contacts.js';
import { EndContactHandler } from './end-contact.handler.js';
import { RefusalRecorder } from './refusal-recorder.js';
import { StartContactHandler } from './start-contact.handler.js';
import { StudioActionController } from './studio-action.controller.js';

/** End a Contact (and start one): the HTTP and Studio routes, the command handlers, the live stream. */
@Module({
  imports: [DirectoryModule, ReadSideModule, ObservabilityModule],
  controllers: [EndContactBatchController, ContactsController, ContactStreamController, StudioActionController],
  providers: [
    EndContactHandler,
    EndContactBatchHandler,
    StartContactHandler,
    RefusalRecorder,
    ContactStreams,
    { provide: ActiveContacts, useFactory: () => new ActiveContacts() },
  ],
  exports: [RefusalRecorder, ContactStreams],
})
export class ContactsModule {}
