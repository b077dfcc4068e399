/**
 * Traces (docs/operations.md, "Pointing the service at a collector"): OpenTelemetry, manual spans, off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. Off, no SDK module is loaded: the code
 * below asks `tracingOn` first, and the API's tracer is the no-op one. On, the SDK (loaded here, dynamically) reads
 * the standard variables itself: the exporter its endpoint and headers, the sampler OTEL_TRACES_SAMPLER and
 * OTEL_TRACES_SAMPLER_ARG (parent-based always-on by default).
 *
 * What crosses a boundary is the W3C trace context as plain strings (`TraceCarrier`): taken from the HTTP request or
 * the Kafka record, kept in the event's metadata (`traceparent`, `tracestate`), and written by the forwarder as the
 * outcome record's headers. The libraries carry those strings and make no span (docs/decisions.md, Tracing).
 */
import {
  context,
  propagation,
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';

export const TRACER_NAME = 'contact-orchestrator';

/** The W3C trace context as it travels: HTTP headers, Kafka headers, an event's metadata. */
export type TraceCarrier = { traceparent?: string; tracestate?: string };

export type Tracing = {
  readonly enabled: boolean;
  /** Exports the spans still buffered, then stops the exporter; bounded by the exporter's own timeout. */
  shutdown(): Promise<void>;
};

let tracingOn = false;

/** True once startTracing registered the SDK: every helper here costs nothing more than this test when false. */
export const isTracingOn = (): boolean => tracingOn;

/** The endpoint the SDK will export to, or undefined when tracing is off. */
export function tracesEndpoint(env: Record<string, string | undefined>): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return endpoint || undefined;
}

/**
 * Registers the SDK (a batching OTLP/HTTP protobuf exporter, the W3C trace context propagator, an AsyncLocalStorage
 * context) when an OTLP endpoint is configured; otherwise loads nothing. The SDK reads the variables from
 * process.env, so `env` must be process.env for anything but the on/off decision and the service name.
 */
export async function startTracing(env: Record<string, string | undefined> = process.env): Promise<Tracing> {
  if (tracingOn || tracesEndpoint(env) === undefined) return { enabled: false, shutdown: async () => undefined };
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, resources, { W3CTraceContextPropagator }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-proto'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/core'),
    ]);
  const { ATTR_SERVICE_NAME } = await import('@opentelemetry/semantic-conventions');
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
    .merge(resources.resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME?.trim() || TRACER_NAME }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  tracingOn = true;
  return {
    enabled: true,
    shutdown: async () => {
      await provider.shutdown();
      tracingOn = false;
    },
  };
}

const tracer = () => trace.getTracer(TRACER_NAME);

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

/** The context a carrier names (its remote span as the parent), over `base`. */
export function contextOf(carrier: TraceCarrier | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!carrier?.traceparent) return base;
  return propagation.extract(base, carrier);
}

/** The carrier of a span: what is stored in an event's metadata and written as the outcome's headers. */
export function carrierOf(span: Span): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier;
}

/** A link to the span a carrier names (for a batch span: the commands it carries). */
export function linkOf(carrier: TraceCarrier | undefined): Link | undefined {
  if (!carrier?.traceparent) return undefined;
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier));
  return spanContext && trace.isSpanContextValid(spanContext) ? { context: spanContext } : undefined;
}

export type SpanOptions = { kind?: SpanKind; attributes?: Attributes; links?: Link[]; parent?: Context };

/**
 * Runs `work` in a new span, active for its duration (log lines written meanwhile carry its IDs); a throw marks the
 * span as an error and is passed on. With tracing off, `work` runs with no span at all.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingOn) return work(undefined);
  const { parent, ...spanOptions } = options;
  return tracer().startActiveSpan(name, spanOptions, parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A span that the caller ends (a message's producer span, which lives until its transaction commits). */
export function startSpan(name: string, options: SpanOptions): Span | undefined {
  if (!tracingOn) return undefined;
  const { parent, ...spanOptions } = options;
  return tracer().startSpan(name, spanOptions, parent ?? context.active());
}

/** For log lines (pino's mixin): the active span's IDs, nothing when none is active or tracing is off. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  if (!tracingOn) return {};
  const span = trace.getSpan(context.active());
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
