/**
 * A contact of the live view, as the service answers it (GET /v1/contacts…, the stream) and the supervisor page
 * reads it. Types only, in a declaration file: the page's own build (apps/supervisor/tsconfig.json, browser, no Node)
 * takes it in without compiling any of this library.
 */
export type ContactView = {
  contactId: string;
  businessUnitId: string;
  mediaType: string;
  skill?: string;
  state: 'Active' | 'Ended';
  startedAt: string;
  endedAt?: string;
  endedBy?: string;
  disconnectReason?: string;
  position: string;
};
