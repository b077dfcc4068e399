/**
 * EndContact over Kafka: each `contact.commands` record goes through the same CommandBus handler as HTTP, and gets
 * exactly one answer on `contact.command-results`. A record that is not a command (broken JSON, not an object,
 * missing, unknown or invalid field), or whose handling throws, is answered with Default + an error and copied to
 * the dead-letter topic; the consumer then moves on, so no record can make it crash-loop.
 *
 * Delivery: at least once. The answer is sent before the offset is committed (kafkajs commits after eachMessage
 * resolves), and the handler is idempotent on commandId, so a redelivered command gets the same answer again.
 * Only a Kafka failure that the producer could not get past (broker down) is thrown back to kafkajs, which then
 * retries the same record later instead of losing its answer.
 */
import { EndContactCommand, type EndContactResult } from '../contacts/end-contact.command.js';
import type { AppLogger } from '../infrastructure/logger.js';
import {
  deadLetterOf,
  failureBodyOf,
  correlationIdOf,
  parseCommandMessage,
  resultBodyOf,
  resultRecordOf,
  type IncomingRecord,
  type OutgoingRecord,
} from './command-message.js';
import {
  SpanKind,
  carrierOf,
  contextOf,
  inSpan,
  isTracingOn,
  logFieldsOf,
  traceCarrierOf,
  type TraceCarrier,
} from '../observability/tracing.js';

/** Sends one record; rejects with the kafkajs error. */
export type Publish = (record: OutgoingRecord) => Promise<void>;

export type CommandConsumerOptions = {
  topics: { commandResults: string; deadLetter: string };
  execute: (command: EndContactCommand) => Promise<EndContactResult>;
  logger: AppLogger;
};

type Plan = { result: OutgoingRecord; deadLetter?: OutgoingRecord; what: string };

export class CommandConsumer {
  private readonly logger: AppLogger;

  constructor(private readonly options: CommandConsumerOptions) {
    this.logger = options.logger.child({ component: 'kafka-commands' });
  }

  /**
   * Handles one record, in its span (the child of the record's `traceparent` header, when it has one). Resolves once
   * its answer (and dead-letter copy) is written; rejects only on Kafka failure.
   */
  handle(record: IncomingRecord, publish: Publish): Promise<void> {
    if (!isTracingOn()) return this.handleRecord(record, publish);
    return inSpan(
      `process ${record.topic}`,
      {
        kind: SpanKind.CONSUMER,
        parent: contextOf(traceCarrierOf(record.headers)),
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': record.topic,
          'messaging.destination.partition.id': String(record.partition),
          'messaging.kafka.offset': Number(record.offset),
        },
      },
      (span) => {
        // The command continues this span, and the record's log lines carry its IDs (where()).
        if (span) traced.set(record, { carrier: { ...carrierOf(span), local: true }, logFields: logFieldsOf(span) });
        return this.handleRecord(record, publish);
      },
    );
  }

  private async handleRecord(record: IncomingRecord, publish: Publish): Promise<void> {
    let plan: Plan;
    try {
      plan = await this.decide(record);
    } catch (error) {
      plan = this.failed(record, internalError(error));
      this.logger.error(
        { err: error, ...where(record) },
        'reading a Kafka command threw: answered Default and dead-lettered',
      );
    }
    await this.publish(plan, record, publish);
  }

  private async decide(record: IncomingRecord): Promise<Plan> {
    const parsed = parseCommandMessage(record.value);
    if (!parsed.ok) {
      this.logger.warn(
        { ...where(record), field: parsed.field, reason: parsed.message },
        'malformed EndContact command: answered Default and dead-lettered',
      );
      return this.failed(record, { code: 'InvalidCommand', message: parsed.message }, parsed);
    }
    const { command } = parsed;
    let result: EndContactResult;
    try {
      result = await this.options.execute(
        new EndContactCommand({
          contactId: command.contactId,
          securityUser: command.securityUser,
          commandId: command.commandId,
          correlationId: correlationIdOf(record.headers, command.commandId),
          source: 'kafka',
          // Bounds the audit of unauthenticated refusals: all Kafka producers share one budget per topic.
          clientAddress: `kafka:${record.topic}`,
          ...traceOfRecord(record),
        }),
      );
    } catch (error) {
      // The handler answers every outcome it knows, store failures included; anything else is a bug to look at.
      this.logger.error(
        { err: error, ...where(record), commandId: command.commandId },
        'EndContact over Kafka threw: answered Default and dead-lettered',
      );
      return this.failed(record, internalError(error), command);
    }
    return {
      result: resultRecordOf(this.options.topics.commandResults, record, resultBodyOf(command, result)),
      what: result.branch,
    };
  }

  private failed(
    record: IncomingRecord,
    error: { code: string; message: string },
    ids: { commandId?: string; contactId?: string } = {},
  ): Plan {
    return {
      result: resultRecordOf(this.options.topics.commandResults, record, failureBodyOf(ids, error)),
      deadLetter: deadLetterOf(this.options.topics.deadLetter, record, `${error.code}: ${error.message}`),
      what: error.code,
    };
  }

  /**
   * Writes the answer, then the dead-letter copy. A retriable Kafka failure (retries exhausted) is thrown: the offset
   * stays uncommitted and kafkajs redelivers. A non-retriable one (e.g. the copy is over the topic's size limit, or
   * the topic is not writable) cannot get better by retrying the same record: it is logged, the record is
   * dead-lettered without its value if need be, and the consumer moves on.
   */
  private async publish(plan: Plan, record: IncomingRecord, publish: Publish): Promise<void> {
    try {
      await publish(plan.result);
    } catch (error) {
      if (isRetriable(error)) throw error;
      this.logger.error(
        { err: error, ...where(record) },
        'the answer could not be written to the results topic (not retriable): dead-lettering the command',
      );
      plan = {
        ...plan,
        deadLetter:
          plan.deadLetter ??
          deadLetterOf(this.options.topics.deadLetter, record, `ResultNotWritten: ${(error as Error).message}`),
      };
    }
    if (plan.deadLetter) await this.deadLetter(plan.deadLetter, record, publish);
    this.logger.debug({ ...where(record), outcome: plan.what }, 'EndContact command answered');
  }

  private async deadLetter(copy: OutgoingRecord, record: IncomingRecord, publish: Publish): Promise<void> {
    try {
      await publish(copy);
      return;
    } catch (error) {
      if (isRetriable(error)) throw error;
      this.logger.error(
        { err: error, ...where(record) },
        'dead-letter copy refused (not retriable): retrying without the value',
      );
    }
    try {
      await publish({
        ...copy,
        value: null,
        headers: {
          ...copy.headers,
          'dlq-value-dropped': 'the original value could not be written to the dead-letter topic',
        },
      });
    } catch (error) {
      if (isRetriable(error)) throw error;
      this.logger.error(
        { err: error, ...where(record) },
        'dead-letter copy refused again: record skipped, see this log',
      );
    }
  }
}

/** The record's span, while tracing is on: what its command continues, and the IDs its log lines carry. */
const traced = new WeakMap<IncomingRecord, { carrier: TraceCarrier; logFields: Record<string, string> }>();

/** The command's trace context: the record's span, else (tracing off) the record's own `traceparent` header. */
function traceOfRecord(record: IncomingRecord): { trace?: TraceCarrier } {
  const carrier = traced.get(record)?.carrier ?? traceCarrierOf(record.headers);
  return carrier ? { trace: carrier } : {};
}

const internalError = (error: unknown) => ({
  code: 'InternalError',
  message: `EndContact failed: ${(error as Error)?.message ?? String(error)}`,
});
const where = (record: IncomingRecord) => ({
  topic: record.topic,
  partition: record.partition,
  offset: record.offset,
  ...traced.get(record)?.logFields,
});

/** As kafkajs's consumer judges it: retries exhausted, or the cause is marked retriable. */
export function isRetriable(error: unknown): boolean {
  for (
    let e = error as { name?: string; retriable?: boolean; cause?: unknown; originalError?: unknown } | undefined,
      depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (e.name === 'KafkaJSNumberOfRetriesExceeded' || e.retriable === true) return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}
