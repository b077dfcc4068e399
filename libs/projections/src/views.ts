/** The projections of views.db, in the order a batch applies them. */
import { contactHistoryProjection, contactViewProjection, type ContactView } from './contact-view.js';
import type { Projection } from './projection.js';

export const VIEW_PROJECTIONS: ReadonlyArray<Projection<ContactView>> = [
  contactViewProjection,
  contactHistoryProjection,
];
