/**
 * The forwarder's spans (docs/operations.md, "Pointing the service at a collector"; docs/decisions.md, Tracing). Per
 * outcome record, a `create` span, the child of its command's span (the trace context stored in the event's metadata),
 * whose context replaces the record's `traceparent`: a consumer's span then continues the command's trace. Per
 * transaction, a `send` span of its own trace, linked to the commands it carries. An outcome whose command was not
 * sampled (and whose `create` span would not be either) keeps its stored context, unlinked. The forwarder (libs/fanout) only
 * calls this around each transaction.
 */
import type { OutcomeMessage, TraceBatch } from '#fanout';
import {
  SpanKind,
  SpanStatusCode,
  carrierOf,
  contextOf,
  inSpan,
  isTracingOn,
  isUnsampled,
  linkOf,
  startSpan,
  type TraceCarrier,
} from '../observability/tracing.js';
import { ROOT_CONTEXT, type Link, type Span } from '@opentelemetry/api';

export function outcomeBatchTracing(topic: string): TraceBatch {
  return async ({ events, outcomes }, send) => {
    if (!isTracingOn() || outcomes.length === 0) return send();
    const links: Link[] = [];
    const created: Span[] = [];
    for (const message of outcomes) {
      const stored = storedContext(message);
      // An unsampled command's outcome keeps the context it stored: its `create` span would record nothing, and a
      // link to it would name a span no collector holds.
      if (!stored || isUnsampled(stored)) continue;
      const link = linkOf(stored);
      if (link) links.push(link);
      const span = startSpan(`create ${topic}`, {
        kind: SpanKind.PRODUCER,
        parent: contextOf(stored),
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'create',
          'messaging.destination.name': topic,
          'messaging.kafka.message.key': message.key,
          'contact_orchestrator.event_id': message.headers['event-id'] ?? '',
        },
      });
      if (!span) continue;
      created.push(span);
      setContext(message, carrierOf(span));
    }
    return inSpan(
      `send ${topic}`,
      {
        kind: SpanKind.CLIENT,
        parent: ROOT_CONTEXT,
        links,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic,
          'messaging.batch.message_count': outcomes.length,
          'contact_orchestrator.events': events.length,
        },
      },
      async () => {
        try {
          await send();
        } catch (error) {
          for (const span of created)
            span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
          throw error;
        } finally {
          for (const span of created) span.end();
        }
      },
    );
  };
}

function storedContext(message: OutcomeMessage): TraceCarrier | undefined {
  const { traceparent, tracestate } = message.headers;
  if (!traceparent) return undefined;
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

function setContext(message: OutcomeMessage, carrier: TraceCarrier): void {
  if (!carrier.traceparent) return;
  message.headers['traceparent'] = carrier.traceparent;
  if (carrier.tracestate) message.headers['tracestate'] = carrier.tracestate;
  else delete message.headers['tracestate'];
}
