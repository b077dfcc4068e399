/**
 * A span sent to the export thread (span-wire.ts) must reach the collector exactly as the SDK would have sent it from
 * the main thread: the OTLP protobuf of the rebuilt span is compared byte for byte with the original's.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { fromWire, toWire } from './span-wire.js';

const resource = resourceFromAttributes({ 'service.name': 'wire-test' });

function finishedSpans(record: (tracer: ReturnType<BasicTracerProvider['getTracer']>) => void): ReadableSpan[] {
  const ended: ReadableSpan[] = [];
  const collect: SpanProcessor = {
    onStart: () => undefined,
    onEnd: (span) => ended.push(span),
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  record(new BasicTracerProvider({ resource, spanProcessors: [collect] }).getTracer('contact-orchestrator'));
  return ended;
}

describe('a span on its way to the export thread', () => {
  it('is rebuilt into the same OTLP bytes: context, remote parent, trace state, kind, times, status, attributes, events, links', () => {
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      traceState: new TraceState('vendor=1,other=x'),
      isRemote: true,
    });
    const spans = finishedSpans((tracer) => {
      const command: Span = tracer.startSpan(
        'EndContact',
        { kind: SpanKind.SERVER, attributes: { 'contact_orchestrator.contact_id': '42', retries: 2, ok: true } },
        remote,
      );
      const child = tracer.startSpan('EndContact append', {}, trace.setSpan(ROOT_CONTEXT, command));
      child.addEvent('conflict', { 'contact_orchestrator.attempt': 1 });
      child.recordException(new Error('revision moved'));
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'revision moved' });
      child.end();
      command.end();
      const send = tracer.startSpan('send contact.outcomes', {
        kind: SpanKind.CLIENT,
        links: [{ context: command.spanContext(), attributes: { why: 'carried' } }, { context: child.spanContext() }],
        attributes: { 'messaging.batch.message_count': 2, list: ['a', 'b'] },
      });
      send.end();
    });
    expect(spans.map((s) => s.name)).toEqual(['EndContact append', 'EndContact', 'send contact.outcomes']);
    const decoding = { resource, scope: spans[0]!.instrumentationScope, traceState: (s: string) => new TraceState(s) };
    // Through postMessage's own copy, as the thread receives it.
    const rebuilt = structuredClone(spans.map(toWire)).map((wire) => fromWire(wire, decoding));
    expect(Buffer.from(ProtobufTraceSerializer.serializeRequest(rebuilt)!).toString('hex')).toBe(
      Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!).toString('hex'),
    );
    expect(rebuilt[1]!.parentSpanContext).toMatchObject({ spanId: '00f067aa0ba902b7', isRemote: true });
    expect(rebuilt[0]!.events.map((e) => e.name)).toEqual(['conflict', 'exception']);
  });
});
