/**
 * A finished span as it crosses to the span export thread (docs/decisions.md, Tracing: "Spans are exported off the
 * main thread"): a flat array of strings, numbers and attribute objects, which `postMessage` copies for a fraction
 * of what encoding OTLP costs, and from which the thread rebuilds the SDK's `ReadableSpan` with every field the OTLP
 * exporter reads. No SDK module is imported here at run time: the thread passes its own TraceState class.
 */
import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatusCode, TraceState } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/** traceId, spanId, traceFlags, traceState ('' for none), isRemote (0/1). */
type WireContext = [string, string, number, string, number];
/** name, time (seconds, nanoseconds), attributes, dropped attributes. */
type WireEvent = [string, number, number, Attributes, number];
/** context, attributes, dropped attributes. */
type WireLink = [WireContext, Attributes, number];

export type WireSpan = [
  name: string,
  kind: SpanKind,
  context: WireContext,
  parent: WireContext | 0,
  start: HrTime,
  end: HrTime,
  duration: HrTime,
  statusCode: SpanStatusCode,
  statusMessage: string | undefined,
  attributes: Attributes,
  events: WireEvent[],
  links: WireLink[],
  dropped: [attributes: number, events: number, links: number],
];

function wireContext(context: SpanContext): WireContext {
  const { traceId, spanId, traceFlags, traceState, isRemote } = context;
  return [traceId, spanId, traceFlags, traceState?.serialize() ?? '', isRemote ? 1 : 0];
}

export function toWire(span: ReadableSpan): WireSpan {
  return [
    span.name,
    span.kind,
    wireContext(span.spanContext()),
    span.parentSpanContext ? wireContext(span.parentSpanContext) : 0,
    span.startTime,
    span.endTime,
    span.duration,
    span.status.code,
    span.status.message,
    span.attributes,
    span.events.map((e) => [e.name, e.time[0], e.time[1], e.attributes ?? {}, e.droppedAttributesCount ?? 0]),
    span.links.map((l) => [wireContext(l.context), l.attributes ?? {}, l.droppedAttributesCount ?? 0]),
    [span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount],
  ];
}

/** What the export thread holds once for all the spans it rebuilds (the exporter groups spans by these objects). */
export type WireDecoding = {
  resource: Resource;
  scope: InstrumentationScope;
  traceState: (serialized: string) => TraceState;
};

function spanContextOf(wire: WireContext, decoding: WireDecoding): SpanContext {
  const [traceId, spanId, traceFlags, traceState, isRemote] = wire;
  return {
    traceId,
    spanId,
    traceFlags,
    ...(traceState ? { traceState: decoding.traceState(traceState) } : {}),
    ...(isRemote ? { isRemote: true } : {}),
  };
}

export function fromWire(wire: WireSpan, decoding: WireDecoding): ReadableSpan {
  const [name, kind, context, parent, startTime, endTime, duration, code, message, attributes, events, links, dropped] =
    wire;
  const spanContext = spanContextOf(context, decoding);
  return {
    name,
    kind,
    spanContext: () => spanContext,
    ...(parent ? { parentSpanContext: spanContextOf(parent, decoding) } : {}),
    startTime,
    endTime,
    duration,
    status: message === undefined ? { code } : { code, message },
    attributes,
    events: events.map(([eventName, seconds, nanos, eventAttributes, droppedAttributesCount]): TimedEvent => ({
      name: eventName,
      time: [seconds, nanos],
      attributes: eventAttributes,
      droppedAttributesCount,
    })),
    links: links.map(([linkContext, linkAttributes, droppedAttributesCount]): Link => ({
      context: spanContextOf(linkContext, decoding),
      attributes: linkAttributes,
      droppedAttributesCount,
    })),
    ended: true,
    resource: decoding.resource,
    instrumentationScope: decoding.scope,
    droppedAttributesCount: dropped[0],
    droppedEventsCount: dropped[1],
    droppedLinksCount: dropped[2],
  };
}
