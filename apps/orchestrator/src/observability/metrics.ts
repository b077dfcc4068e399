/**
 * The service's Prometheus registry (prom-client): the process metrics (event-loop delay, GC, heap, handles,
 * resident memory) and the few of its own an operator needs at 3 a.m.: what was decided, how fast, and whether
 * the subscriptions keep up (those gauges, read at scrape time, are in service-gauges.ts).
 */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS_LOOP_WINDOW_DEFAULT_SECONDS, type AppConfig } from '../config/configuration.js';
import { APP_CONFIG } from '../infrastructure/tokens.js';
import { LoopDelayMonitor, type DelaySummary } from './loop-delay.js';

const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** prom-client's event-loop gauges, whose histogram every scrape resets: replaced by the window's (loop-delay.ts). */
const RESET_BY_EVERY_SCRAPE = [
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
];

@Injectable()
export class Metrics implements OnModuleDestroy {
  // Our own registry, not prom-client's global one: two services in one test process do not share counts.
  readonly registry = new Registry();
  private readonly outcomes = new Counter({
    name: 'contact_orchestrator_end_contact_total',
    help: 'EndContact commands by branch and source.',
    labelNames: ['branch', 'source'] as const,
    registers: [this.registry],
  });
  private readonly replays = new Counter({
    name: 'contact_orchestrator_end_contact_replays_total',
    help: 'EndContact retries answered with the original OnSuccess (same command ID): nothing new was ended or written.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'contact_orchestrator_end_contact_seconds',
    help: 'Time to decide and record an EndContact.',
    labelNames: ['source'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  private readonly loop: LoopDelayMonitor;

  /** Nest gives the configuration; a test may construct it without (the default window). */
  constructor(
    @Inject(APP_CONFIG)
    config: Pick<AppConfig, 'metricsLoopWindowSeconds'> = {
      metricsLoopWindowSeconds: METRICS_LOOP_WINDOW_DEFAULT_SECONDS,
    },
  ) {
    // prom-client's event-loop histogram cannot be left out of its default metrics: sampled once a second it costs
    // nothing, and it is never read (its gauges are removed just below, and it goes with them).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
    for (const name of RESET_BY_EVERY_SCRAPE) this.registry.removeSingleMetric(name);
    // A 1 ms sampling timer: the delay recorded is a whole turn of it, so an idle loop reports ~1.1 ms.
    this.loop = new LoopDelayMonitor(config.metricsLoopWindowSeconds);
    this.registerLoopDelay();
  }

  /** The same eight gauges prom-client had, by name, over the window: no scrape changes what the next one reads. */
  private registerLoopDelay(): void {
    const registers = [this.registry];
    const window = `over the last ${this.loop.seconds} s (METRICS_LOOP_WINDOW_SECONDS; the time between turns of a 1 ms timer; no scrape resets it)`;
    new Gauge({
      name: 'nodejs_eventloop_lag_seconds',
      help: 'Lag of the event loop in seconds, measured at this scrape: how long a setImmediate waited.',
      registers,
      async collect() {
        const start = performance.now();
        await new Promise((resolve) => setImmediate(resolve));
        this.set((performance.now() - start) / 1000);
      },
    });
    const loop = this.loop;
    const gauge = (name: string, help: string, read: (summary: DelaySummary) => number) =>
      new Gauge({
        name: `nodejs_eventloop_lag_${name}_seconds`,
        help: `${help} ${window}.`,
        registers,
        collect() {
          this.set(read(loop.summary()));
        },
      });
    gauge('min', 'The smallest event-loop delay', (s) => s.min);
    gauge('max', 'The largest event-loop delay', (s) => s.max);
    gauge('mean', 'The mean event-loop delay', (s) => s.mean);
    gauge('stddev', 'The standard deviation of the event-loop delays', (s) => s.stddev);
    gauge('p50', 'The 50th percentile of the event-loop delays', (s) => s.percentile(50));
    gauge('p90', 'The 90th percentile of the event-loop delays', (s) => s.percentile(90));
    gauge('p99', 'The 99th percentile of the event-loop delays', (s) => s.percentile(99));
  }

  onModuleDestroy(): void {
    this.loop.stop();
  }

  /**
   * One EndContact answered: its branch, where it came from, and how long it took end to end in the handler. A replay
   * (a retry of a command that already succeeded) is counted apart, so OnSuccess counts contacts actually ended.
   */
  endContact(branch: string, source: string, seconds: number, replayed = false): void {
    if (replayed) this.replays.inc({ source });
    else this.outcomes.inc({ branch, source });
    this.latency.observe({ source }, seconds);
  }

  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
