import type { RecordedEvent } from '#event-store';

type DomainEvent = { type: string; data: object };

/**
 * The store's events of one stream as the domain's typed events. A stream holds only events this service wrote;
 * a type the domain does not know means the stream is not ours, which is an error, never something to skip.
 */
export function asDomainEvents<E extends DomainEvent>(
  events: readonly RecordedEvent[],
  types: ReadonlyArray<E['type']>,
): Array<E & { revision: bigint; commandId?: string }> {
  return events.map((event) => {
    if (!types.includes(event.type))
      throw new Error(`Stream ${event.streamId} holds an event of unexpected type ${event.type}`);
    return {
      type: event.type,
      data: event.data,
      revision: event.revision,
      ...(event.metadata.commandId !== undefined ? { commandId: event.metadata.commandId } : {}),
    } as E & { revision: bigint; commandId?: string };
  });
}
