/**
 * The service's head sampling must be the SDK's: the same sampler from the same variables, the same ratio decision
 * on a trace ID, and IDs the SDK takes as valid (head-sampling.ts).
 */
import { ROOT_CONTEXT, isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import * as sdk from '@opentelemetry/sdk-trace-base';
// The SDK's own reading of the variables (not part of its public API: this spec is where a change of it shows).
import { buildSamplerFromEnv } from '@opentelemetry/sdk-trace-base/build/src/config.js';
import { afterEach, describe, expect, it } from 'vitest';
import { TraceIds, headSampling, traceIdRatio } from './head-sampling.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('the sampler built from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['  ', undefined],
    ['always_on', undefined],
    ['always_off', undefined],
    ['traceidratio', '0.25'],
    ['traceidratio', undefined],
    ['traceidratio', 'often'],
    ['traceidratio', '1.5'],
    ['parentbased_always_on', undefined],
    ['parentbased_always_off', undefined],
    ['parentbased_traceidratio', '0.1'],
    ['parentbased_traceidratio', ' '],
    ['parentbased_traceidratio', '-0.1'],
    [' traceidratio', '0.5'],
    ['ALWAYS_OFF', undefined],
    ['jaeger_remote', undefined],
  ];
  it.each(cases)('OTEL_TRACES_SAMPLER=%j, ARG=%j: the one the SDK builds', (sampler, arg) => {
    delete process.env.OTEL_TRACES_SAMPLER;
    delete process.env.OTEL_TRACES_SAMPLER_ARG;
    if (sampler !== undefined) process.env.OTEL_TRACES_SAMPLER = sampler;
    if (arg !== undefined) process.env.OTEL_TRACES_SAMPLER_ARG = arg;
    expect(headSampling(process.env, sdk).sampler.toString()).toBe(buildSamplerFromEnv().toString());
  });

  it('knows which follow their parent and which decide new traces on their ID', () => {
    // The words of the trace ID asked about XOR to 2³² − 1: only a ratio of 1 keeps it.
    const of = (OTEL_TRACES_SAMPLER: string, OTEL_TRACES_SAMPLER_ARG?: string) => {
      const { newTrace, followsParent } = headSampling({ OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG }, sdk);
      return {
        followsParent,
        newTraces: newTrace === undefined ? 'all' : newTrace('0'.repeat(24) + 'ffffffff') ? 'some' : 'none',
      };
    };
    expect(of('parentbased_always_on')).toEqual({ followsParent: true, newTraces: 'all' });
    expect(of('parentbased_traceidratio', '0.1')).toEqual({ followsParent: true, newTraces: 'none' });
    expect(of('parentbased_traceidratio', '1')).toEqual({ followsParent: true, newTraces: 'some' });
    expect(of('parentbased_always_off')).toEqual({ followsParent: true, newTraces: 'none' });
    expect(of('always_off')).toEqual({ followsParent: true, newTraces: 'none' });
    expect(of('always_on')).toEqual({ followsParent: false, newTraces: 'all' });
    expect(of('traceidratio', '0.1')).toEqual({ followsParent: false, newTraces: 'none' });
  });
});

describe('the ratio decision on a trace ID', () => {
  it.each([0, 0.1, 0.5, 0.999, 1])('ratio %s: the SDK decides the same on 20,000 IDs', (ratio) => {
    const ours = traceIdRatio(ratio);
    const theirs = new sdk.TraceIdRatioBasedSampler(ratio);
    const ids = new TraceIds();
    let sampled = 0;
    for (let i = 0; i < 20_000; i++) {
      const traceId = ids.newTraceId();
      const sdkSampled =
        theirs.shouldSample(ROOT_CONTEXT, traceId).decision === sdk.SamplingDecision.RECORD_AND_SAMPLED;
      expect(ours(traceId), traceId).toBe(sdkSampled);
      if (sdkSampled) sampled++;
    }
    expect(Math.abs(sampled / 20_000 - ratio)).toBeLessThan(0.02);
  });
});

describe('trace and span IDs', () => {
  it('are valid W3C IDs, all different, across refills of the pool', () => {
    const ids = new TraceIds();
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const traceId = ids.generateTraceId();
      const spanId = ids.generateSpanId();
      expect(isValidTraceId(traceId) && /^[0-9a-f]{32}$/.test(traceId), traceId).toBe(true);
      expect(isValidSpanId(spanId) && /^[0-9a-f]{16}$/.test(spanId), spanId).toBe(true);
      seen.add(traceId).add(spanId);
    }
    expect(seen.size).toBe(2_000);
  });

  it('give the SDK a preset trace ID once, and no more once withdrawn', () => {
    const ids = new TraceIds();
    const traceId = ids.newTraceId();
    ids.preset(traceId);
    expect(ids.generateTraceId()).toBe(traceId);
    expect(ids.generateTraceId()).not.toBe(traceId);
    ids.preset(traceId);
    ids.preset(undefined);
    expect(ids.generateTraceId()).not.toBe(traceId);
  });
});
