/**
 * Bulk end (docs/design.md, Bulk end): each contact of the batch goes through the EndContact command, the one path of the rules,
 * with a command ID derived from the batch's (so a retried batch replays instead of ending or refusing twice) and
 * the batch's command ID as its correlationId (so the audit shows which ends came from which batch).
 */
import { Inject } from '@nestjs/common';
import { CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import pLimit from 'p-limit';
import { BRANCHES, mayEndContacts, type Branch, type EndContactsRefusal } from '#contacts';
import type { AgentCaller } from '#security';
import type { AppConfig } from '../config/configuration.js';
import { APP_CONFIG } from '../infrastructure/tokens.js';
import { DirectoryService } from '../directory/directory.service.js';
import { eventIdFor } from '../infrastructure/event-ids.js';
import { ViewsService } from '../read-side/views.service.js';
import { EndContactCommand, type EndContactResult } from './end-contact.command.js';
import { errorOf, httpStatusOf } from './end-contact.http.js';
import { RefusalRecorder } from './refusal-recorder.js';
import { RememberedBatches } from './remembered-batches.js';
import { SpanKind, carrierOf, contextOf, inSpan } from '../observability/tracing.js';
import {
  EndContactBatchCommand,
  type BatchItemResult,
  type BatchSelection,
  type EndContactBatchRequest,
  type EndContactBatchResult,
} from './end-contact-batch.command.js';

/** Ends in flight at once within one batch: enough to keep the store's group commit busy, few enough to share. */
const CONCURRENCY = 16;
/** Keyed batches whose answer is kept for a retry, at most (least recently used forgotten first; bytes bound them too). */
export const REMEMBERED_BATCHES = 1_000;
/**
 * Batches running at once in the process; the next wait their turn, holding only their request. A running batch holds
 * its results (about 0.2 MB of heap for 1,000), so this bounds them whatever the number of connections.
 */
export const BATCHES_AT_ONCE = 8;
const PAGE = 1_000;

@CommandHandler(EndContactBatchCommand)
export class EndContactBatchHandler implements ICommandHandler<EndContactBatchCommand, EndContactBatchResult> {
  /** Keyed batch answers by agent and batch ID, so that a retried filter batch answers the contacts it first chose. */
  private readonly answered: RememberedBatches;
  private readonly turns = new Turns(BATCHES_AT_ONCE);

  constructor(
    private readonly commands: CommandBus,
    private readonly directory: DirectoryService,
    private readonly views: ViewsService,
    private readonly refusals: RefusalRecorder,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.answered = new RememberedBatches(config.endBatchRememberedBytes, REMEMBERED_BATCHES);
  }

  /** One span for the batch (docs/operations.md, "Pointing the service at a collector"): each end is its child. */
  execute({ request }: EndContactBatchCommand): Promise<EndContactBatchResult> {
    return inSpan(
      'EndContactBatch',
      {
        kind: SpanKind.SERVER,
        parent: contextOf(request.trace),
        attributes: { 'contact_orchestrator.batch_id': request.batchId },
      },
      // Each end continues the batch's span.
      (span) => this.executeBatch(span ? { ...request, trace: { ...carrierOf(span), local: true } } : request),
    );
  }

  private async executeBatch(request: EndContactBatchRequest): Promise<EndContactBatchResult> {
    const permission = mayEndContacts(await this.directory.authenticate(request.securityUser));
    // A caller refused for who it is is answered for the whole batch at once: no contact is read or selected, and
    // the refusals are written as one count in the caller's refusal summary rather than one by one. Nothing is
    // remembered either: a permission granted since, or a new SecurityUser, is tried afresh.
    if (!permission.allowed) return await this.refuseWhole(request, permission.refusal);
    const { agent } = permission;
    if (!request.keyed) return this.run(request, agent);
    const key = `${agent.agentId}\u0000${request.batchId}`;
    const earlier = this.answered.get(key);
    if (earlier) return earlier;
    const answer = this.run(request, agent);
    this.answered.running(key, answer);
    answer.then(
      (result) =>
        result.summary.Default > 0 ? this.answered.forget(key, answer) : this.answered.finished(key, answer, result),
      () => this.answered.forget(key, answer),
    );
    return answer;
  }

  private async refuseWhole(
    request: EndContactBatchRequest,
    refused: EndContactsRefusal,
  ): Promise<EndContactBatchResult> {
    const contactIds = request.selection.kind === 'ids' ? unique(request.selection.contactIds) : [];
    if (contactIds.length > 0) await this.refusals.countOnly(refused, request.clientAddress, contactIds.length);
    const results = contactIds.map((contactId) =>
      itemOf({ branch: refused.branch, contactId, detail: refused.detail }),
    );
    const { status, error } = results[0] ?? itemOf({ branch: refused.branch, contactId: '', detail: refused.detail });
    return {
      caller: { branch: refused.branch, status, ...(error ? { error } : {}) },
      results,
      summary: summaryOf(results),
    };
  }

  private async run(request: EndContactBatchRequest, agent: AgentCaller): Promise<EndContactBatchResult> {
    await this.turns.take();
    try {
      return await this.runNow(request, agent);
    } finally {
      this.turns.give();
    }
  }

  /** `agent` may end contacts (mayEndContacts let it through); each end still asks again for its own contact. */
  private async runNow(request: EndContactBatchRequest, agent: AgentCaller): Promise<EndContactBatchResult> {
    const contactIds =
      request.selection.kind === 'ids'
        ? request.selection.contactIds
        : await this.select(request.selection, agent.businessUnitId);
    const ends = await pLimit(CONCURRENCY).map(unique(contactIds), (contactId) =>
      this.commands.execute(
        new EndContactCommand({
          contactId,
          securityUser: request.securityUser,
          commandId: eventIdFor(`end-batch:${request.batchId}:${contactId}`),
          correlationId: request.batchId,
          source: 'http',
          clientAddress: request.clientAddress,
          ...(request.trace ? { trace: request.trace } : {}),
        }),
      ),
    );
    const results = ends.map(itemOf);
    return { caller: { branch: 'OnSuccess', status: 200 }, results, summary: summaryOf(results) };
  }

  /** The active contacts of the business unit that match the filter, in contact ID order, at most `limit`. */
  private async select(
    selection: Extract<BatchSelection, { kind: 'filter' }>,
    businessUnitId: string,
  ): Promise<string[]> {
    const { mediaType, skill, startedBefore } = selection.filter;
    const before = startedBefore === undefined ? undefined : Date.parse(startedBefore);
    const chosen: string[] = [];
    let after: string | undefined;
    const views = await this.views.current();
    do {
      const page = await views.list({
        state: 'Active',
        businessUnitId,
        limit: PAGE,
        ...(mediaType ? { mediaType } : {}),
        ...(after ? { after } : {}),
      });
      for (const view of page.items) {
        if (skill !== undefined && view.skill !== skill) continue;
        if (before !== undefined && Date.parse(view.startedAt) >= before) continue;
        chosen.push(view.contactId);
        if (chosen.length === selection.limit) return chosen;
      }
      after = page.next;
    } while (after !== undefined);
    return chosen;
  }
}

function itemOf(result: EndContactResult): BatchItemResult {
  const error = errorOf(result);
  return {
    contactId: result.contactId,
    branch: result.branch,
    status: httpStatusOf(result),
    ...(error ? { error } : {}),
  };
}

function summaryOf(results: readonly BatchItemResult[]): Record<Branch, number> {
  const summary = Object.fromEntries(BRANCHES.map((branch) => [branch, 0])) as Record<Branch, number>;
  for (const { branch } of results) summary[branch]++;
  return summary;
}

/** At most `limit` holders at once; the others wait in the order they came. */
class Turns {
  private held = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  take(): Promise<void> {
    if (this.held < this.limit) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The turn passes to the first waiting, or is freed. */
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held--;
  }
}

/** A contact named twice is ended (and answered) once. */
const unique = (ids: readonly string[]): string[] => [...new Set(ids)];
