/** The media types a contact can have (docs/design.md, End a Contact). */
export const MEDIA_TYPES = ['Phone', 'Voicemail', 'Email', 'Chat', 'SMS', 'WorkItem', 'Digital'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];
export const isMediaType = (value: unknown): value is MediaType =>
  typeof value === 'string' && (MEDIA_TYPES as readonly string[]).includes(value);

/** Script types the Studio action may be called from: every media type plus Generic. */
export const SCRIPT_TYPES = ['Generic', ...MEDIA_TYPES] as const;
export type ScriptType = (typeof SCRIPT_TYPES)[number];

/** CXone-style contact IDs: decimal strings of 1 to 19 digits. */
export const CONTACT_ID_PATTERN = /^[0-9]{1,19}$/;
export const isWellFormedContactId = (value: unknown): value is string =>
  typeof value === 'string' && CONTACT_ID_PATTERN.test(value);
