/**
 * Tracing on, through the real SDK: what a command's span gives its children and its event, sampled or not
 * (docs/operations.md, "Pointing the service at a collector"). The exporter points at a closed port on loopback: the
 * one recorded span fails to export at shutdown, which the service logs and the test does not need.
 */
import { ROOT_CONTEXT, propagation, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeBatchTracing } from '../fanout/outcome-tracing.js';
import { traceIdRatio } from './head-sampling.js';
import { carrierOf, childSpan, contextOf, inSpan, startTracing, type Tracing } from './tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const caller = (flags: '00' | '01') => ({ traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-${flags}`, tracestate: 'v=1' });

/**
 * Tracing on for the enclosing describe, with these sampler variables. The SDK reads its variables from process.env
 * (tracing.ts). The recorded spans cannot be exported (nothing listens): bootstrap.ts logs that; here it is expected.
 */
function tracingOn(sampler: Record<string, string>): void {
  let tracing: Tracing;
  const saved = { ...process.env };
  beforeAll(async () => {
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }, sampler);
    tracing = await startTracing(process.env);
  });
  afterAll(async () => {
    await tracing.shutdown().catch(() => undefined);
    process.env = saved;
  });
}

describe('a command span, sampled by its caller or not', () => {
  tracingOn({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' });

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

describe("the forwarder's outcome records, their command sampled or not", () => {
  tracingOn({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' });

  it("a sampled command's record gets its create span's context; an unsampled one's keeps the stored context", async () => {
    const outcome = (carrier: { traceparent: string; tracestate: string }, key: string) => ({
      key,
      value: '{}',
      headers: { 'event-id': key, ...carrier },
    });
    const sampled = outcome(caller('01'), 'sampled');
    const unsampled = outcome(caller('00'), 'unsampled');
    let sent = 0;
    await outcomeBatchTracing('contact.outcomes')({ events: [], outcomes: [sampled, unsampled] }, async () => {
      sent += 1;
    });
    expect(sent).toBe(1);
    expect(unsampled.headers).toEqual(outcome(caller('00'), 'unsampled').headers);
    const [, traceId, spanId, flags] = sampled.headers.traceparent.split('-');
    expect([traceId, flags]).toEqual([TRACE_ID, '01']);
    expect(spanId, 'the create span, a child of the stored one').not.toBe('00f067aa0ba902b7');
    expect(sampled.headers.tracestate).toBe('v=1');
  });
});

describe('new traces under parentbased_traceidratio, decided before the SDK is asked', () => {
  tracingOn({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' });

  it("each root is recorded exactly when the ratio keeps its trace ID, the SDK's span keeping that ID", async () => {
    const kept = traceIdRatio(0.5);
    const roots = await Promise.all(
      Array.from({ length: 400 }, () =>
        inSpan('EndContact', {}, async (span, scope) => ({
          context: span!.spanContext(),
          recording: span!.isRecording(),
          scope,
        })),
      ),
    );
    for (const { context, recording, scope } of roots) {
      expect(recording, context.traceId).toBe(kept(context.traceId));
      expect(context.traceFlags, 'sampled flag').toBe(recording ? 1 : 0);
      expect(scope === undefined).toBe(!recording);
    }
    const recorded = roots.filter((r) => r.recording).length;
    expect(recorded).toBeGreaterThan(150);
    expect(recorded).toBeLessThan(250);
    expect(new Set(roots.map((r) => r.context.traceId)).size).toBe(400);
  });
});
