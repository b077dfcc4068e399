/**
 * Event-loop delay over a rolling window that no scrape changes (docs/operations.md, Observing it).
 *
 * prom-client's own nodejs_eventloop_lag_* gauges read a monitorEventLoopDelay histogram and reset it at every
 * collect: each scrape took the delays away from the next one, so two readers of /metrics (the operator's
 * monitoring, a benchmark, anyone) emptied each other's quantiles. Node cannot copy such a histogram into another
 * (RecordableHistogram.add refuses it), and a ring of full HDR histograms would hold tens of KB per second and
 * merge slowly at each scrape. So a 1 ms timer records the time between its turns, as
 * monitorEventLoopDelay({resolution: 1}) does, into one-second slices of 1 % buckets; the gauges read the last N
 * complete seconds plus the current one. Minimum, maximum, mean and standard deviation are exact; a percentile is
 * the upper bound of its bucket (at most 1 % above the delay), never beyond the maximum.
 */
import { performance } from 'node:perf_hooks';

/** Bucket k holds the delays in (RATIO^(k-1), RATIO^k] seconds. */
const RATIO = 1.01;
const LOG_RATIO = Math.log(RATIO);
const bucketOf = (seconds: number): number => Math.ceil(Math.log(seconds) / LOG_RATIO);

/** The delays of one second, as they are recorded. */
class Slice {
  count = 0;
  sum = 0;
  sumOfSquares = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;
  readonly buckets = new Map<number, number>();

  add(seconds: number): void {
    this.count++;
    this.sum += seconds;
    this.sumOfSquares += seconds * seconds;
    if (seconds < this.min) this.min = seconds;
    if (seconds > this.max) this.max = seconds;
    const bucket = bucketOf(seconds);
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
  }
}

/** A past second, kept compact: its buckets as two arrays (a few bytes per bucket used, whatever the delays). */
type PastSlice = {
  count: number;
  sum: number;
  sumOfSquares: number;
  min: number;
  max: number;
  buckets: Int32Array;
  counts: Uint32Array;
};

function freeze(slice: Slice): PastSlice {
  const buckets = Int32Array.from(slice.buckets.keys());
  const counts = Uint32Array.from(slice.buckets.values());
  return {
    count: slice.count,
    sum: slice.sum,
    sumOfSquares: slice.sumOfSquares,
    min: slice.min,
    max: slice.max,
    buckets,
    counts,
  };
}

export type DelaySummary = {
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  percentile(p: number): number;
};

const EMPTY: DelaySummary = { count: 0, min: 0, max: 0, mean: 0, stddev: 0, percentile: () => 0 };

/**
 * The delays of the last `seconds` complete seconds and of the current one. Pure: the caller gives the time
 * (performance.now(), in ms), so tests can drive it.
 */
export class DelayWindow {
  private current = new Slice();
  private readonly past: PastSlice[] = [];
  /** The bucket counts of every past slice, kept as slices come and go: a reading merges one slice, not N. */
  private readonly pastBuckets = new Map<number, number>();
  private sliceStart: number;

  constructor(
    readonly seconds: number,
    now: number,
  ) {
    this.sliceStart = now;
  }

  /** One delay, in seconds, measured at `now`. */
  record(seconds: number, now: number): void {
    this.advance(now);
    if (seconds > 0) this.current.add(seconds);
  }

  /** The window at `now`. Reading it changes nothing. */
  summary(now: number): DelaySummary {
    this.advance(now);
    let count = 0;
    let sum = 0;
    let sumOfSquares = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const slice of [...this.past, this.current]) {
      if (slice.count === 0) continue;
      count += slice.count;
      sum += slice.sum;
      sumOfSquares += slice.sumOfSquares;
      min = Math.min(min, slice.min);
      max = Math.max(max, slice.max);
    }
    if (count === 0) return EMPTY;
    const merged = new Map(this.pastBuckets);
    for (const [bucket, n] of this.current.buckets) merged.set(bucket, (merged.get(bucket) ?? 0) + n);
    const mean = sum / count;
    const ascending = [...merged.keys()].sort((a, b) => a - b);
    return {
      count,
      min,
      max,
      mean,
      stddev: Math.sqrt(Math.max(0, sumOfSquares / count - mean * mean)),
      percentile(p: number): number {
        // The smallest delay that p % of the recorded delays do not exceed.
        const rank = Math.max(1, Math.ceil((p / 100) * count));
        let seen = 0;
        for (const bucket of ascending) {
          seen += merged.get(bucket)!;
          if (seen >= rank) return Math.min(max, Math.max(min, RATIO ** bucket));
        }
        return max;
      },
    };
  }

  /** Seconds that ended since the last call become past slices (empty ones too, after a stall); the oldest go. */
  private advance(now: number): void {
    const ended = Math.floor((now - this.sliceStart) / 1000);
    if (ended <= 0) return;
    this.sliceStart += ended * 1000;
    this.push(freeze(this.current));
    this.current = new Slice();
    for (let i = 1; i < Math.min(ended, this.seconds + 1); i++) this.push(freeze(new Slice()));
  }

  private push(slice: PastSlice): void {
    this.past.push(slice);
    this.count(slice, 1);
    if (this.past.length > this.seconds) this.count(this.past.shift()!, -1);
  }

  private count(slice: PastSlice, sign: 1 | -1): void {
    for (let i = 0; i < slice.buckets.length; i++) {
      const bucket = slice.buckets[i]!;
      const n = (this.pastBuckets.get(bucket) ?? 0) + sign * slice.counts[i]!;
      if (n === 0) this.pastBuckets.delete(bucket);
      else this.pastBuckets.set(bucket, n);
    }
  }
}

/** The sampler: a 1 ms timer (unref'd: it never keeps the process alive) records the time between its turns. */
export class LoopDelayMonitor {
  private readonly window: DelayWindow;
  private readonly timer: NodeJS.Timeout;
  /** The window as the last reading found it, until the next delay is recorded: one scrape's gauges read it once. */
  private read: DelaySummary | undefined;

  constructor(seconds: number) {
    let last = performance.now();
    this.window = new DelayWindow(seconds, last);
    this.timer = setInterval(() => {
      const now = performance.now();
      this.window.record((now - last) / 1000, now);
      this.read = undefined;
      last = now;
    }, 1);
    this.timer.unref();
  }

  get seconds(): number {
    return this.window.seconds;
  }

  summary(): DelaySummary {
    return (this.read ??= this.window.summary(performance.now()));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
