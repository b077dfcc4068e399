/**
 * Traces (docs/operations.md, "Pointing the service at a collector"): OpenTelemetry, manual spans, off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. Off, no SDK module is loaded: the code
 * below asks `isTracingOn()` first, and the API's tracer is the no-op one. On, the SDK is loaded here, dynamically,
 * with the sampler that OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name (head-sampling.ts; parent-based
 * always-on by default), and the export thread's SDK exporter reads its endpoint and headers (span-export.ts). A span
 * the sampler will not record is made without the SDK (`unrecordedSpan`; docs/decisions.md, Tracing).
 *
 * What crosses a boundary is the W3C trace context as plain strings (`TraceCarrier`): taken from the HTTP request or
 * the Kafka record, kept in the event's metadata (`traceparent`, `tracestate`), and written by the forwarder as the
 * outcome record's headers. The libraries carry those strings and make no span (docs/decisions.md, Tracing).
 *
 * No context manager is registered (no AsyncLocalStorage, whose promise hooks cost every async step on Node 20):
 * a span's parent is always passed, as a `Context` within a call and as a carrier between components, and log
 * lines get a span's IDs where they are written (`logFieldsOf`).
 */
import {
  propagation,
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { HeadSampling, TraceIds } from './head-sampling.js';
import type { SpanExportWorkerData } from './span-export.worker.js';

export const TRACER_NAME = 'contact-orchestrator';

/**
 * The W3C trace context as it travels: HTTP headers, Kafka headers, an event's metadata. `local`: it names a span of
 * this process (a Kafka record's, a bulk end's), so a command under it is an internal span, not the request's own.
 */
export type TraceCarrier = { traceparent?: string; tracestate?: string; local?: boolean };

export type Tracing = {
  readonly enabled: boolean;
  /** Exports the spans still buffered, then stops the exporter; bounded by the exporter's own timeout. */
  shutdown(): Promise<void>;
};

/** The SDK's tracer once startTracing registered it; undefined while tracing is off. */
let tracer: Tracer | undefined;

/** The sampler's rules and the ID generator given to the SDK, while tracing is on (head-sampling.ts). */
let sampling: HeadSampling | undefined;
let ids: TraceIds | undefined;

/** True once startTracing registered the SDK: every helper here costs nothing more than this test when false. */
export const isTracingOn = (): boolean => tracer !== undefined;

/** The endpoint the SDK will export to, or undefined when tracing is off. */
export function tracesEndpoint(env: Record<string, string | undefined>): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return endpoint || undefined;
}

/**
 * Registers the SDK (its tracer provider, the W3C trace context propagator, no context manager; spans exported by a
 * thread of their own, span-export.ts, with the SDK's batching processor and OTLP/HTTP protobuf exporter) when an
 * OTLP endpoint is configured; otherwise loads nothing. `onExportFailure`: the export thread failed (no span leaves
 * after it). The export thread's SDK reads its variables from process.env, so `env` must be process.env for
 * anything but the on/off decision, the sampler and the service name.
 */
export async function startTracing(
  env: Record<string, string | undefined> = process.env,
  options: { onExportFailure?: (error: Error) => void } = {},
): Promise<Tracing> {
  if (tracer || tracesEndpoint(env) === undefined) return { enabled: false, shutdown: async () => undefined };
  const [sdk, { W3CTraceContextPropagator }, { OffThreadSpanProcessor }, { startWorker }, { headSampling, TraceIds }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/core'),
      import('./span-export.js'),
      import('#event-store'),
      import('./head-sampling.js'),
    ]);
  sampling = headSampling(env, sdk);
  ids = new TraceIds();
  const workerData: SpanExportWorkerData = {
    serviceName: env.OTEL_SERVICE_NAME?.trim() || TRACER_NAME,
    scope: { name: TRACER_NAME },
  };
  const exportThread = startWorker(import.meta.url, 'span-export.worker', workerData);
  const provider = new sdk.BasicTracerProvider({
    sampler: sampling.sampler,
    idGenerator: ids,
    spanProcessors: [new OffThreadSpanProcessor(exportThread, { onFailure: options.onExportFailure })],
  });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  tracer = trace.getTracer(TRACER_NAME);
  return {
    enabled: true,
    shutdown: async () => {
      tracer = undefined;
      sampling = undefined;
      ids = undefined;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
    },
  };
}

/**
 * True when a span whose parent is this carrier would record nothing: the carrier's flags say unsampled and the
 * sampler follows its parents. The forwarder then leaves an outcome's trace context as the command stored it, with no
 * `create` span and no link (docs/benchmarks.md, "Tracing"). False while tracing is off.
 */
export function isUnsampled(carrier: TraceCarrier): boolean {
  return carrier.traceparent !== undefined && leavesChildrenUnrecorded(parseInt(carrier.traceparent.slice(-2), 16));
}

/** True when a child of a parent with these trace flags records nothing: unsampled, and the sampler follows parents. */
function leavesChildrenUnrecorded(parentFlags: number): boolean {
  return sampling?.followsParent === true && (parentFlags & TraceFlags.SAMPLED) === 0;
}

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/** `traceparent` and `tracestate` from HTTP or Kafka headers (first value; Buffers read as UTF-8), when well formed. */
export function traceCarrierOf(headers: Record<string, unknown> | undefined): TraceCarrier | undefined {
  if (!headers) return undefined;
  const traceparent = headerText(headers['traceparent']);
  if (traceparent === undefined || !TRACEPARENT.test(traceparent)) return undefined;
  const tracestate = headerText(headers['tracestate']);
  return tracestate !== undefined && tracestate.length <= 512 ? { traceparent, tracestate } : { traceparent };
}

function headerText(value: unknown): string | undefined {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first.trim();
  if (Buffer.isBuffer(first)) return first.toString('utf8').trim();
  return undefined;
}

/** The context a carrier names (its span as the parent); ROOT_CONTEXT (a new trace) without one. */
export function contextOf(carrier: TraceCarrier | undefined): Context {
  if (!carrier?.traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent: carrier.traceparent, tracestate: carrier.tracestate });
}

/**
 * The carrier of a span: what is stored in an event's metadata and written as the outcome's headers. Written here
 * as the W3C format says (version 00), not through the propagator: it is on every command's path, sampled or not,
 * and the SDK's span contexts are valid by construction.
 */
export function carrierOf(span: Span): TraceCarrier {
  const { traceId, spanId, traceFlags, traceState } = span.spanContext();
  const traceparent = `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  const tracestate = traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** A link to the span a carrier names (for a batch span: the commands it carries). */
export function linkOf(carrier: TraceCarrier | undefined): Link | undefined {
  if (!carrier?.traceparent) return undefined;
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier));
  return spanContext && trace.isSpanContextValid(spanContext) ? { context: spanContext } : undefined;
}

/**
 * The span the SDK would make and not record under `parent`, made without it (head-sampling.ts): a child of an
 * unsampled parent when the sampler follows parents, or the root of a new trace whose ID the sampler leaves out.
 * Undefined when the SDK must decide; for a new trace the sampler keeps, its trace ID is preset for the SDK.
 */
function unrecordedSpan(parent: Context): Span | undefined {
  const parentContext = parent === ROOT_CONTEXT ? undefined : trace.getSpanContext(parent);
  if (parentContext && trace.isSpanContextValid(parentContext)) {
    if (!leavesChildrenUnrecorded(parentContext.traceFlags)) return undefined;
    const { traceId, traceState } = parentContext;
    const spanId = ids!.generateSpanId();
    return trace.wrapSpanContext({
      traceId,
      spanId,
      traceFlags: TraceFlags.NONE,
      ...(traceState ? { traceState } : {}),
    });
  }
  const { newTrace } = sampling!;
  if (!newTrace) return undefined;
  const traceId = ids!.newTraceId();
  if (!newTrace(traceId))
    return trace.wrapSpanContext({ traceId, spanId: ids!.generateSpanId(), traceFlags: TraceFlags.NONE });
  ids!.preset(traceId);
  return undefined;
}

/** `parent`: the context of the span's parent (ROOT_CONTEXT or undefined: a new trace). */
export type SpanOptions = { kind?: SpanKind; attributes?: Attributes; links?: Link[]; parent?: Context | undefined };

/**
 * Runs `work` in a new span, given the span and its scope: the context to pass to its children (`childSpan`); a
 * throw marks the span as an error and is passed on. A span the sampler left out records nothing and has no
 * children: its scope is undefined and its attributes are not even set, so an unsampled command costs one span's
 * start (docs/benchmarks.md, "Tracing"). With tracing off, `work` runs at once with neither.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span | undefined, scope: Context | undefined) => Promise<T>,
): Promise<T> {
  if (!tracer) return work(undefined, undefined);
  const parent = options.parent ?? ROOT_CONTEXT;
  const unrecorded = unrecordedSpan(parent);
  if (unrecorded) return work(unrecorded, undefined);
  const { attributes, parent: _parent, ...spanOptions } = options;
  const span = tracer.startSpan(name, spanOptions, parent);
  ids!.preset(undefined);
  if (!span.isRecording()) return work(span, undefined);
  if (attributes) span.setAttributes(attributes);
  return work(span, trace.setSpan(parent, span)).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      span.end();
      throw error;
    },
  );
}

/**
 * Runs `work` in a child span of `scope` (a recording span's, from inSpan); without a scope (tracing off, or the
 * parent not sampled) `work` runs bare.
 */
export function childSpan<T>(
  name: string,
  scope: Context | undefined,
  work: () => Promise<T>,
  attributes?: Attributes,
): Promise<T> {
  if (scope === undefined) return work();
  return inSpan(name, attributes ? { parent: scope, attributes } : { parent: scope }, work);
}

/** A span that the caller ends (a message's producer span, which lives until its transaction commits). */
export function startSpan(name: string, options: SpanOptions): Span | undefined {
  if (!tracer) return undefined;
  const { parent = ROOT_CONTEXT, ...spanOptions } = options;
  return tracer.startSpan(name, spanOptions, parent);
}

/** The fields a log line written within `span` carries (`trace_id`, `span_id`); nothing without a span. */
export function logFieldsOf(span: Span | undefined): { trace_id?: string; span_id?: string } {
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export { SpanKind, SpanStatusCode };

/** `{trace}` for a command built from an HTTP request that carries a well-formed `traceparent`, else nothing. */
export function traceOf(request: { headers: Record<string, unknown> }): { trace?: TraceCarrier } {
  const carrier = traceCarrierOf(request.headers);
  return carrier ? { trace: carrier } : {};
}
