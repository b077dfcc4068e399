import { describe, expect, it } from 'vitest';
import {
  inSpan,
  isTracingOn,
  isUnsampled,
  logFieldsOf,
  startTracing,
  traceCarrierOf,
  tracesEndpoint,
} from './tracing.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('whether tracing is on', () => {
  it('is on only with an OTLP endpoint, the traces one first, and never with OTEL_SDK_DISABLED=true', () => {
    expect(tracesEndpoint({})).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe('http://c:4318');
    expect(
      tracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/v1/traces',
      }),
    ).toBe('http://t:4318/v1/traces');
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBeUndefined();
  });

  it('off, starts nothing: spans are not made and log lines get no trace fields', async () => {
    const tracing = await startTracing({});
    expect(tracing.enabled).toBe(false);
    expect(isTracingOn()).toBe(false);
    await expect(inSpan('x', {}, async (span, scope) => [span, scope])).resolves.toEqual([undefined, undefined]);
    expect(logFieldsOf(undefined)).toEqual({});
    expect(isUnsampled({ traceparent: traceparent.replace(/01$/, '00') }), 'nothing is skipped while off').toBe(false);
  });
});

describe('the W3C trace context of a request or a record', () => {
  it('takes a well-formed traceparent, and tracestate with it, from strings, Buffers or arrays', () => {
    expect(traceCarrierOf({ traceparent })).toEqual({ traceparent });
    expect(traceCarrierOf({ traceparent: Buffer.from(traceparent), tracestate: Buffer.from('a=1') })).toEqual({
      traceparent,
      tracestate: 'a=1',
    });
    expect(traceCarrierOf({ traceparent: [traceparent, 'other'] })).toEqual({ traceparent });
  });

  it('ignores a missing or malformed traceparent, and the tracestate without it', () => {
    expect(traceCarrierOf(undefined)).toBeUndefined();
    expect(traceCarrierOf({ tracestate: 'a=1' })).toBeUndefined();
    expect(traceCarrierOf({ traceparent: 'not-a-traceparent' })).toBeUndefined();
    expect(traceCarrierOf({ traceparent: traceparent.toUpperCase() })).toBeUndefined();
    expect(traceCarrierOf({ traceparent, tracestate: 'x'.repeat(513) })).toEqual({ traceparent });
  });
});
