/**
 * The service's head sampling (docs/decisions.md, Tracing: "Unrecorded spans skip the SDK"). The sampler is built
 * from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG as the SDK builds it from the environment (same names, same
 * defaults, same fallbacks; head-sampling.unit.spec.ts compares the two) and handed to the SDK; knowing which it is
 * lets `inSpan` tell, before asking the SDK, that a span will record nothing: a child of an unsampled parent under
 * a parent-based sampler, or a new trace whose ID the ratio leaves out. Such a span is the SDK's own non-recording
 * span (`trace.wrapSpanContext`) with IDs from `TraceIds`, which also give the SDK the trace ID already decided on.
 */
import { randomFillSync } from 'node:crypto';
import type { IdGenerator, Sampler } from '@opentelemetry/sdk-trace-base';

type SamplerClasses = Pick<
  typeof import('@opentelemetry/sdk-trace-base'),
  'AlwaysOnSampler' | 'AlwaysOffSampler' | 'ParentBasedSampler' | 'TraceIdRatioBasedSampler'
>;

export type HeadSampling = {
  /** What the SDK is given. */
  sampler: Sampler;
  /** Whether a new trace is sampled, from its ID; undefined when every new trace is (the SDK then decides). */
  newTrace: ((traceId: string) => boolean) | undefined;
  /** True when a child of an unsampled parent is never sampled (parent-based samplers and always_off). */
  followsParent: boolean;
};

/** OTEL_TRACES_SAMPLER_ARG as the SDK reads it: a number in [0, 1], 1 when unset, blank, not a number or out of range. */
function ratioOf(arg: string | undefined): number {
  if (arg === undefined || arg.trim() === '') return 1;
  const ratio = Number(arg);
  return Number.isNaN(ratio) || ratio < 0 || ratio > 1 ? 1 : ratio;
}

/**
 * The SDK's TraceIdRatioBasedSampler decision for a well-formed trace ID (lowercase hex, as TraceIds makes): the
 * XOR of its four 32-bit words below ratio × 2³² − 1.
 */
export function traceIdRatio(ratio: number): (traceId: string) => boolean {
  const upperBound = ratio >= 1 ? 0x100000000 : ratio <= 0 ? 0 : Math.floor(ratio * 0xffffffff);
  return (traceId) => {
    let accumulation = 0;
    for (let i = 0; i < 32; i += 8) {
      let word = 0;
      for (let j = i; j < i + 8; j++) {
        const c = traceId.charCodeAt(j);
        word = (word << 4) | (c <= 57 ? c - 48 : c - 87);
      }
      accumulation = (accumulation ^ word) >>> 0;
    }
    return accumulation < upperBound;
  };
}

export function headSampling(env: Record<string, string | undefined>, classes: SamplerClasses): HeadSampling {
  const { AlwaysOnSampler, AlwaysOffSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = classes;
  const raw = env.OTEL_TRACES_SAMPLER;
  // The SDK keeps the value untrimmed, and takes any name it does not know for parentbased_always_on.
  const name = raw === undefined || raw.trim() === '' ? 'parentbased_always_on' : raw;
  const never = () => false;
  switch (name) {
    case 'always_on':
      return { sampler: new AlwaysOnSampler(), newTrace: undefined, followsParent: false };
    case 'always_off':
      return { sampler: new AlwaysOffSampler(), newTrace: never, followsParent: true };
    case 'traceidratio': {
      const ratio = ratioOf(env.OTEL_TRACES_SAMPLER_ARG);
      return { sampler: new TraceIdRatioBasedSampler(ratio), newTrace: traceIdRatio(ratio), followsParent: false };
    }
    case 'parentbased_always_off':
      return {
        sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
        newTrace: never,
        followsParent: true,
      };
    case 'parentbased_traceidratio': {
      const ratio = ratioOf(env.OTEL_TRACES_SAMPLER_ARG);
      const root = new TraceIdRatioBasedSampler(ratio);
      return { sampler: new ParentBasedSampler({ root }), newTrace: traceIdRatio(ratio), followsParent: true };
    }
    default:
      return {
        sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
        newTrace: undefined,
        followsParent: true,
      };
  }
}

const POOL_BYTES = 4096;

/**
 * Trace and span IDs from the system's random source, cut from a refilled pool (the SDK's generator calls
 * Math.random per 4 bytes). `preset` hands the SDK the trace ID of a new trace already sampled on it: the SDK asks
 * for a root span's trace ID once, synchronously, within `startSpan`.
 */
export class TraceIds implements IdGenerator {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private offset = POOL_BYTES;
  private presetTraceId: string | undefined;

  /** `undefined` withdraws a preset the SDK did not take. */
  preset(traceId: string | undefined): void {
    this.presetTraceId = traceId;
  }

  generateTraceId(): string {
    const preset = this.presetTraceId;
    if (preset !== undefined) {
      this.presetTraceId = undefined;
      return preset;
    }
    return this.next(16);
  }

  /** A new trace ID that `generateTraceId` will not hand out as a preset. */
  newTraceId(): string {
    return this.next(16);
  }

  generateSpanId(): string {
    return this.next(8);
  }

  private next(bytes: number): string {
    for (;;) {
      if (this.offset + bytes > POOL_BYTES) {
        randomFillSync(this.pool);
        this.offset = 0;
      }
      const start = this.offset;
      this.offset += bytes;
      // An all-zero ID is invalid (W3C): drawn once in 2⁶⁴ at worst, and then drawn again.
      for (let i = start; i < start + bytes; i++)
        if (this.pool[i] !== 0) return this.pool.toString('hex', start, start + bytes);
    }
  }
}
