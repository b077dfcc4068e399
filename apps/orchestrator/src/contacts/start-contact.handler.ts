/** Registers a live contact (the ACD's job in production): a ContactStarted on a new contact stream. */
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomInt, randomUUID } from 'node:crypto';
import { contactStreamId, decideStartContact, foldContact } from '../../../../libs/contacts/src/index.js';
import { WrongExpectedRevisionError, type EventStore } from '../../../../libs/event-store/src/index.js';
import { EVENT_STORE } from '../infrastructure/tokens.js';
import { StartContactCommand, type StartContactResult } from './start-contact.command.js';

/** CXone-like 12-digit IDs; a collision is caught by the no_stream check and a new ID is drawn. */
const generateContactId = (): string => String(randomInt(100_000_000_000, 999_999_999_999));

@CommandHandler(StartContactCommand)
export class StartContactHandler implements ICommandHandler<StartContactCommand, StartContactResult> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ request }: StartContactCommand): Promise<StartContactResult> {
    const { businessUnitId, mediaType, skill, metadata } = request;
    for (let attempt = 1; ; attempt++) {
      const contactId = request.contactId ?? generateContactId();
      const stream = await this.store.readStream(contactStreamId(contactId));
      const decision = decideStartContact(
        { type: 'StartContact', data: { contactId, businessUnitId, mediaType, ...(skill !== undefined ? { skill } : {}), now: new Date() } },
        foldContact(stream.map((e) => ({ type: e.type, data: e.data }) as never)),
      );
      if (decision.result === 'AlreadyExists') {
        if (request.contactId === undefined && attempt < 5) continue;
        return { result: 'AlreadyExists', contactId, detail: decision.detail };
      }
      try {
        const { position } = await this.store.append(
          contactStreamId(contactId),
          [{ id: randomUUID(), ...decision.event, metadata }],
          { expectedRevision: 'no_stream' },
        );
        return { result: 'Started', ...decision.event.data, state: 'Active', position: position.toString() };
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (request.contactId !== undefined || attempt >= 5) return { result: 'AlreadyExists', contactId, detail: `Contact ${contactId} already exists` };
      }
    }
  }
}
