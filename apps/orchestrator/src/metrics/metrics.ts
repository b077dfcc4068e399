/**
 * Prometheus text exposition without a client library: a few counters and one histogram are all an operator needs
 * at 3 a.m. (what was decided, how fast, and whether the subscriptions keep up).
 */
import { Injectable } from '@nestjs/common';
import { Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Labels = Record<string, string>;
const key = (labels: Labels): string => Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');

@Injectable()
export class Metrics {
  private readonly outcomes = new Map<string, number>();
  private readonly latency = new Map<string, { buckets: number[]; sum: number; count: number }>();
  private readonly process = new Registry();

  constructor() {
    // Event-loop delay (monitorEventLoopDelay, p50/p90/p99 since the previous scrape), GC, heap, handles.
    // A 1 ms sampling timer: monitorEventLoopDelay records whole sampling intervals, so at prom-client's default of
    // 10 ms an idle loop would already report a p99 of ~10.8 ms.
    collectDefaultMetrics({ register: this.process, eventLoopMonitoringPrecision: 1 });
  }

  processMetrics(): Promise<string> {
    return this.process.metrics();
  }

  /** One EndContact decided: its branch, where it came from, and how long it took end to end in the handler. */
  endContact(branch: string, source: string, seconds: number): void {
    const labels = key({ branch, source });
    this.outcomes.set(labels, (this.outcomes.get(labels) ?? 0) + 1);
    const sourceLabel = key({ source });
    let histogram = this.latency.get(sourceLabel);
    if (!histogram) this.latency.set(sourceLabel, (histogram = { buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 }));
    LATENCY_BUCKETS_SECONDS.forEach((bound, i) => {
      if (seconds <= bound) histogram!.buckets[i]!++;
    });
    histogram.sum += seconds;
    histogram.count++;
  }

  /** The exposition; `gauges` are read at scrape time (checkpoints, lag, states). */
  render(gauges: Array<{ name: string; help: string; samples: Array<{ labels: Labels; value: number }> }>): string {
    const lines: string[] = [];
    lines.push('# HELP contact_orchestrator_end_contact_total EndContact commands by branch and source.');
    lines.push('# TYPE contact_orchestrator_end_contact_total counter');
    for (const [labels, value] of this.outcomes) lines.push(`contact_orchestrator_end_contact_total{${labels}} ${value}`);
    lines.push('# HELP contact_orchestrator_end_contact_seconds Time to decide and record an EndContact.');
    lines.push('# TYPE contact_orchestrator_end_contact_seconds histogram');
    for (const [labels, h] of this.latency) {
      LATENCY_BUCKETS_SECONDS.forEach((bound, i) => lines.push(`contact_orchestrator_end_contact_seconds_bucket{${labels},le="${bound}"} ${h.buckets[i]}`));
      lines.push(`contact_orchestrator_end_contact_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      lines.push(`contact_orchestrator_end_contact_seconds_sum{${labels}} ${h.sum}`);
      lines.push(`contact_orchestrator_end_contact_seconds_count{${labels}} ${h.count}`);
    }
    for (const gauge of gauges) {
      lines.push(`# HELP ${gauge.name} ${gauge.help}`);
      lines.push(`# TYPE ${gauge.name} gauge`);
      for (const sample of gauge.samples) lines.push(`${gauge.name}${Object.keys(sample.labels).length ? `{${key(sample.labels)}}` : ''} ${sample.value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
