/**
 * Registers a live contact (the ACD's job in production): a ContactStarted on a new contact stream.
 * With an Idempotency-Key the contact ID (when not given) is derived from the key, and a retry finds the contact
 * it started and answers the same 201 instead of starting a second one.
 */
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { createHash, randomInt } from 'node:crypto';
import { contactStreamId, decide, foldContact, type ContactEvent, type ContactStarted } from '#contacts';
import { WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '#event-store';
import { retry } from '#runtime';
import { asDomainEvents } from '../infrastructure/domain-events.js';
import { EVENT_STORE } from '../infrastructure/tokens.js';
import { StartContactCommand, type StartContactResult } from './start-contact.command.js';
import { newEventId } from '../infrastructure/event-ids.js';
import { ActiveContacts } from './active-contacts.js';

const MAX_ATTEMPTS = 5;

/** CXone-like 12-digit IDs; a collision is caught by the no_stream check and a new ID is drawn. */
const generateContactId = (): string => String(randomInt(100_000_000_000, 999_999_999_999));
/** The same 12-digit ID for the same Idempotency-Key. */
const contactIdForKey = (key: string): string =>
  String((createHash('sha256').update(key).digest().readBigUInt64BE(0) % 900_000_000_000n) + 100_000_000_000n);

@CommandHandler(StartContactCommand)
export class StartContactHandler implements ICommandHandler<StartContactCommand, StartContactResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly active: ActiveContacts,
  ) {}

  async execute({ request }: StartContactCommand): Promise<StartContactResult> {
    const { businessUnitId, mediaType, skill, metadata, idempotencyKey } = request;
    const chosenId = request.contactId ?? (idempotencyKey !== undefined ? contactIdForKey(idempotencyKey) : undefined);
    let contactId = chosenId ?? generateContactId();
    try {
      return await retry(
        async (attempt) => {
          if (attempt > 1 && chosenId === undefined) contactId = generateContactId();
          const stream = await this.store.readStream(contactStreamId(contactId));
          const replay = idempotencyKey !== undefined ? startedBy(stream, idempotencyKey) : undefined;
          if (replay)
            return {
              result: 'Started',
              ...replay.event.data,
              state: 'Active',
              position: replay.position.toString(),
            } as const;
          const decision = decide(
            {
              type: 'StartContact',
              data: {
                contactId,
                businessUnitId,
                mediaType,
                ...(skill !== undefined ? { skill } : {}),
                now: new Date(),
              },
            },
            foldContact(asDomainEvents<ContactEvent>(stream, ['ContactStarted', 'ContactEnded'])),
          );
          if (decision.result === 'AlreadyExists') {
            // A drawn ID that is taken is drawn again; a chosen one is the caller's answer.
            if (chosenId === undefined) throw new ContactIdTaken(decision.detail);
            return { result: 'AlreadyExists', contactId, detail: decision.detail } as const;
          }
          const { position } = await this.store.append(
            contactStreamId(contactId),
            [{ id: newEventId(), ...decision.event, metadata }],
            {
              expectedRevision: 'no_stream',
            },
          );
          // The stream is new: revision 0 is its ContactStarted.
          this.active.remember({ status: 'Active', ...decision.event.data }, 0n);
          return { result: 'Started', ...decision.event.data, state: 'Active', position: position.toString() } as const;
        },
        // Lost a race for this ID: read again (a concurrent retry with the same key then replays).
        {
          attempts: MAX_ATTEMPTS,
          retryOn: (error) => error instanceof WrongExpectedRevisionError || error instanceof ContactIdTaken,
        },
      );
    } catch (error) {
      if (error instanceof ContactIdTaken) return { result: 'AlreadyExists', contactId, detail: error.message };
      if (error instanceof WrongExpectedRevisionError)
        return { result: 'AlreadyExists', contactId, detail: `Contact ${contactId} already exists` };
      throw error;
    }
  }
}

/** The drawn ID belongs to another contact. */
class ContactIdTaken extends Error {}

/** The ContactStarted this key wrote, if the stream starts with one. */
function startedBy(stream: RecordedEvent[], key: string): { event: ContactStarted; position: bigint } | undefined {
  const first = stream[0];
  if (first?.type !== 'ContactStarted' || first.metadata.commandId !== key) return undefined;
  return { event: { type: 'ContactStarted', data: first.data as ContactStarted['data'] }, position: first.position };
}
