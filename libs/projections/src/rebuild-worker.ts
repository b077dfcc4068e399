/**
 * The second thread of an offline rebuild: projects the contact view's starts and ends of the whole log into a side
 * file (contactViewRebuildProjection) while the calling thread projects the history (see rebuild.ts), which then
 * merges them into the contact view. Reports its position after each batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { contactViewRebuildProjection } from './contact-view.js';
import { Projector, attachedLog } from './projection.js';
import { openScratch, projectRange, type ScratchBudget } from './rebuild-scratch.js';

export type RebuildWorkerData = {
  eventsFile: string;
  sideFile: string;
  head: bigint;
  batch: number;
  budget: ScratchBudget;
};
export type FromRebuildWorker = { kind: 'progress'; position: bigint; events: number } | { kind: 'done' };

const { eventsFile, sideFile, head, batch, budget } = workerData as RebuildWorkerData;
const db = openScratch(sideFile, budget);
try {
  const projector = new Projector(db, [contactViewRebuildProjection], attachedLog(eventsFile), {
    changes: false,
    deferIndexes: true,
  });
  projectRange(projector, head, batch, (position, events) =>
    parentPort!.postMessage({ kind: 'progress', position, events } satisfies FromRebuildWorker),
  );
  db.exec('DETACH DATABASE log');
} finally {
  db.close();
}
parentPort!.postMessage({ kind: 'done' } satisfies FromRebuildWorker);
