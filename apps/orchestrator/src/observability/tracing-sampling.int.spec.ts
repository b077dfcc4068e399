/**
 * Tracing on, through the real SDK: what a command's span gives its children and its event, sampled or not
 * (docs/operations.md, "Pointing the service at a collector"). The exporter points at a closed port on loopback: the
 * one recorded span fails to export at shutdown, which the service logs and the test does not need.
 */
import { ROOT_CONTEXT, propagation, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carrierOf, childSpan, contextOf, inSpan, startTracing, type Tracing } from './tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const caller = (flags: '00' | '01') => ({ traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-${flags}`, tracestate: 'v=1' });

describe('a command span, sampled by its caller or not', () => {
  let tracing: Tracing;
  const saved = { ...process.env };
  beforeAll(async () => {
    // The SDK reads its variables from process.env (tracing.ts).
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9';
    process.env.OTEL_TRACES_SAMPLER = 'parentbased_always_on';
    tracing = await startTracing(process.env);
  });
  afterAll(async () => {
    // The recorded span cannot be exported (nothing listens): bootstrap.ts logs that; here it is expected.
    await tracing.shutdown().catch(() => undefined);
    process.env = saved;
  });

  it('not sampled: no scope, so its steps run without spans; its event still carries the trace, unsampled', async () => {
    const ran: string[] = [];
    const carrier = await inSpan('EndContact', { parent: contextOf(caller('00')) }, async (span, scope) => {
      expect(span?.isRecording()).toBe(false);
      expect(scope).toBeUndefined();
      ran.push(await childSpan('EndContact append', scope, async () => 'appended'));
      return carrierOf(span!);
    });
    expect(ran).toEqual(['appended']);
    expect(carrier.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
    expect(carrier.tracestate).toBe('v=1');
  });

  it('sampled: its steps are its children, and its carrier is what the W3C propagator writes', async () => {
    await inSpan('EndContact', { parent: contextOf(caller('01')) }, async (span, scope) => {
      expect(span?.isRecording()).toBe(true);
      expect(scope).toBeDefined();
      const fromPropagator: Record<string, string> = {};
      propagation.inject(trace.setSpan(ROOT_CONTEXT, span!), fromPropagator);
      expect(carrierOf(span!)).toEqual(fromPropagator);
      expect(carrierOf(span!).traceparent).toMatch(/-01$/);
      expect(trace.getSpan(scope!)?.spanContext().spanId, 'the scope its children start from').toBe(
        span!.spanContext().spanId,
      );
    });
  });
});
