/**
 * The contacts this process started and has not seen ended, with the revision their stream had then: EndContact
 * decides from here instead of reading the contact's stream. Never a source of truth. The append that follows
 * carries that revision, so if anything was written to the stream since (another process ended it, a bulk end, an
 * operator), the append is refused, the entry is forgotten and the command reads the stream and decides again.
 * Only facts that never change after the start (business unit, media type, skill, start time) are decided from it.
 *
 * An `lru-cache` bounded by count and by bytes: past `capacity` entries or `maxBytes` of heap, the contact least
 * recently started or recalled is forgotten (its end then reads its stream, as before). An entry is one string; its heap is estimated as its
 * characters and its key's (two bytes each unless all are Latin-1) plus ENTRY_OVERHEAD_BYTES. Short identifiers take
 * about 150 bytes, and the default 200,000 fit in the default 32 MB; the longest the API accepts (128-character
 * business unit and skill) take about 370, and fewer are kept (docs/decisions.md, "Memory").
 */
import { LRUCache } from 'lru-cache';
import type { ContactState, MediaType } from '#contacts';

export type ActiveContact = Extract<ContactState, { status: 'Active' }>;

export const ACTIVE_CONTACTS_CAPACITY = 200_000;
export const ACTIVE_CONTACTS_MAX_BYTES = 32 * 1024 * 1024;
/** Heap of an entry besides its characters (the cache's slots, two string headers): `npm run memory:bounds`. */
export const ENTRY_OVERHEAD_BYTES = 112;

/** Separates the fields of an entry: identifiers and timestamps never hold it. */
const SEP = '\u0000';

export class ActiveContacts {
  /** contactId → `revision SEP businessUnitId SEP mediaType SEP startedAt [SEP skill]`: one string, not an object of five. */
  private readonly entries: LRUCache<string, string> | undefined;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly capacity = ACTIVE_CONTACTS_CAPACITY,
    maxBytes = ACTIVE_CONTACTS_MAX_BYTES,
  ) {
    // The count is bounded in remember(), not with lru-cache's `max`: `max` sets aside its slots for every entry at
    // once (about 7 MB for 200,000), where an empty cache here should cost nothing.
    this.entries =
      capacity > 0 && maxBytes > 0
        ? new LRUCache<string, string>({
            maxSize: maxBytes,
            sizeCalculation: (entry, id) => sizeOf(id, entry),
          })
        : undefined;
  }

  /** A contact just started by this process, at `revision` of its stream. */
  remember(contact: ActiveContact, revision: bigint): void {
    if (!this.entries) return;
    const { contactId, businessUnitId, mediaType, skill, startedAt } = contact;
    const fields = [revision.toString(), businessUnitId, mediaType, startedAt, ...(skill !== undefined ? [skill] : [])];
    if (fields.some((field) => field.includes(SEP))) return;
    // An entry larger than maxBytes on its own is not kept (lru-cache's maxEntrySize, which is maxSize).
    this.entries.set(contactId, fields.join(SEP));
    while (this.entries.size > this.capacity) this.entries.pop();
  }

  /** The contact as it was started, and the revision to append after; undefined when not known here. */
  recall(contactId: string): { state: ActiveContact; revision: bigint } | undefined {
    const entry = this.entries?.get(contactId);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const [revision, businessUnitId, mediaType, startedAt, skill] = entry.split(SEP) as [
      string,
      string,
      MediaType,
      string,
      string?,
    ];
    return {
      state: {
        status: 'Active',
        contactId,
        businessUnitId,
        mediaType,
        startedAt,
        ...(skill !== undefined ? { skill } : {}),
      },
      revision: BigInt(revision),
    };
  }

  /** Ended, or found to have moved on: its next command reads the stream. */
  forget(contactId: string): void {
    this.entries?.delete(contactId);
  }

  /** Estimated heap held by the entries. */
  get bytes(): number {
    return this.entries?.calculatedSize ?? 0;
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  /** Commands decided from here and commands that had to read the stream, since the start. */
  get lookups(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }
}

/** V8 keeps a string of Latin-1 characters one byte a character, any other two. */
const charBytes = (text: string): number => (/[^\u0000-\u00ff]/.test(text) ? 2 : 1) * text.length;
const sizeOf = (contactId: string, entry: string): number =>
  charBytes(contactId) + charBytes(entry) + ENTRY_OVERHEAD_BYTES;
