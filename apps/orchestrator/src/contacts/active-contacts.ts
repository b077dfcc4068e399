/**
 * The contacts this process started and has not seen ended, with the revision their stream had then: EndContact
 * decides from here instead of reading the contact's stream. Never a source of truth. The append that follows
 * carries that revision, so if anything was written to the stream since (another process ended it, a bulk end, an
 * operator), the append is refused, the entry is forgotten and the command reads the stream and decides again.
 * Only facts that never change after the start (business unit, media type, skill, start time) are decided from it.
 *
 * Bounded: past `capacity` the contact started longest ago is forgotten (its end then reads its stream, as before).
 * An entry is one short string (about 150 bytes of heap with its key): the default 200,000 hold about 30 MB.
 */
import type { ContactState, MediaType } from '#contacts';

export type ActiveContact = Extract<ContactState, { status: 'Active' }>;

export const ACTIVE_CONTACTS_CAPACITY = 200_000;

/** Separates the fields of an entry: identifiers and timestamps never hold it. */
const SEP = '\u0000';

export class ActiveContacts {
  /** contactId → `revision SEP businessUnitId SEP mediaType SEP startedAt [SEP skill]`: one string, not an object of five. */
  private readonly entries = new Map<string, string>();
  private hits = 0;
  private misses = 0;

  constructor(private readonly capacity = ACTIVE_CONTACTS_CAPACITY) {}

  /** A contact just started by this process, at `revision` of its stream. */
  remember(contact: ActiveContact, revision: bigint): void {
    if (this.capacity <= 0) return;
    const { contactId, businessUnitId, mediaType, skill, startedAt } = contact;
    const fields = [revision.toString(), businessUnitId, mediaType, startedAt, ...(skill !== undefined ? [skill] : [])];
    if (fields.some((field) => field.includes(SEP))) return;
    this.entries.delete(contactId);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(contactId, fields.join(SEP));
  }

  /** The contact as it was started, and the revision to append after; undefined when not known here. */
  recall(contactId: string): { state: ActiveContact; revision: bigint } | undefined {
    const entry = this.entries.get(contactId);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const [revision, businessUnitId, mediaType, startedAt, skill] = entry.split(SEP) as [string, string, MediaType, string, string?];
    return {
      state: { status: 'Active', contactId, businessUnitId, mediaType, startedAt, ...(skill !== undefined ? { skill } : {}) },
      revision: BigInt(revision),
    };
  }

  /** Ended, or found to have moved on: its next command reads the stream. */
  forget(contactId: string): void {
    this.entries.delete(contactId);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Commands decided from here and commands that had to read the stream, since the start. */
  get lookups(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }
}
