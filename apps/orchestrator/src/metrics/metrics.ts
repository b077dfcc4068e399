/**
 * The service's Prometheus registry (prom-client): the process metrics (event-loop delay, GC, heap, handles,
 * resident memory) and the few of its own an operator needs at 3 a.m.: what was decided, how fast, and whether
 * the subscriptions keep up (those gauges are registered by the /metrics controller, read at scrape time).
 */
import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

@Injectable()
export class Metrics {
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

  constructor() {
    // nodejs_eventloop_lag_p50/p90/p99_seconds cover the time since the previous scrape (the histogram restarts).
    // A 1 ms sampling timer: monitorEventLoopDelay records whole sampling intervals, so at prom-client's default of
    // 10 ms an idle loop would already report a p99 of ~10.8 ms.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1 });
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
