/**
 * The second thread of an offline rebuild: projects the contact view of the whole log into a side
 * file while the calling thread projects the history (see rebuild.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { contactViewProjection } from './contact-view.js';
import { Projector, attachedLog } from './projection.js';
import { openScratch, type ScratchBudget } from './rebuild-scratch.js';

export type RebuildWorkerData = {
  eventsFile: string;
  sideFile: string;
  head: bigint;
  budget: ScratchBudget;
};
export type FromRebuildWorker = { kind: 'progress'; position: bigint; events: number } | { kind: 'done' };

const { eventsFile, sideFile, head, budget } = workerData as RebuildWorkerData;
const db = openScratch(sideFile, budget);
try {
  const projector = new Projector(db, [contactViewProjection], attachedLog(eventsFile), {
    changes: false,
    deferIndexes: true,
  });
  // The whole log at once, in the order of the contact view's key (see Projection.applyAtOnce): the side thread was
  // the rebuild's longer one batch by batch. It reports once, at the end.
  if (head > 0n) projector.applyAtOnce({ after: 0n, upTo: head });
  parentPort!.postMessage({ kind: 'progress', position: head, events: Number(head) } satisfies FromRebuildWorker);
  db.exec('DETACH DATABASE log');
} finally {
  db.close();
}
parentPort!.postMessage({ kind: 'done' } satisfies FromRebuildWorker);
