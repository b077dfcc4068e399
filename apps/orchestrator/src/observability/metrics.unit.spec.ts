import { describe, expect, it, vi } from 'vitest';
import { Metrics } from './metrics.js';

/** The value of an unlabelled series in Prometheus text. */
const valueOf = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`${series} is not in the scrape`);
  return Number(line.split(' ')[1]);
};

/** Holds the event loop for `ms`, as a synchronous piece of work would. */
const blockLoop = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('Metrics', () => {
  it('escapes label values as the exposition format says, instead of mangling them', async () => {
    const metrics = new Metrics();
    metrics.endContact('OnSuccess', 'odd "source"\\x', 0.003);
    const lines = (await metrics.scrape()).split('\n');
    expect(lines).toContain(
      'contact_orchestrator_end_contact_total{branch="OnSuccess",source="odd \\"source\\"\\\\x"} 1',
    );
    expect(lines).toContain(
      'contact_orchestrator_end_contact_seconds_bucket{le="0.005",source="odd \\"source\\"\\\\x"} 1',
    );
    expect(lines).toContain(
      'contact_orchestrator_end_contact_seconds_bucket{le="0.0025",source="odd \\"source\\"\\\\x"} 0',
    );
    metrics.onModuleDestroy();
  });

  it('a scrape does not reset the event-loop delay: two scrapes in a row after a blocked loop both show it', async () => {
    const metrics = new Metrics({ metricsLoopWindowSeconds: 60 });
    try {
      // A running service: the sampler has recorded delays, and a scrape has read them.
      await vi.waitFor(
        async () => expect(valueOf(await metrics.scrape(), 'nodejs_eventloop_lag_mean_seconds')).toBeGreaterThan(0),
        { timeout: 5_000, interval: 5 },
      );
      blockLoop(50);
      // The delay is recorded at the sampler's next turn, after the block: scrape until one shows it.
      const first = await vi.waitFor(
        async () => {
          const text = await metrics.scrape();
          expect(valueOf(text, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.05);
          return text;
        },
        { timeout: 5_000, interval: 5 },
      );
      const second = await metrics.scrape();
      expect(valueOf(second, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.05);
      expect(valueOf(second, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(
        valueOf(first, 'nodejs_eventloop_lag_max_seconds'),
      );
      expect(second).toContain(
        '# HELP nodejs_eventloop_lag_p99_seconds The 99th percentile of the event-loop delays over the last 60 s',
      );
      // Each of the eight series once: prom-client's own gauges are gone, not doubled.
      for (const name of ['', '_min', '_max', '_mean', '_stddev', '_p50', '_p90', '_p99']) {
        expect(
          second.split('\n').filter((l) => l.startsWith(`nodejs_eventloop_lag${name}_seconds `)),
          name,
        ).toHaveLength(1);
      }
    } finally {
      metrics.onModuleDestroy();
    }
  });
});
