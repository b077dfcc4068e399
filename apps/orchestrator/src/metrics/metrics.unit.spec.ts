import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('Metrics', () => {
  it('escapes label values as the exposition format says, instead of mangling them', async () => {
    const metrics = new Metrics();
    metrics.endContact('OnSuccess', 'odd "source"\\x', 0.003);
    const lines = (await metrics.scrape()).split('\n');
    expect(lines).toContain('contact_orchestrator_end_contact_total{branch="OnSuccess",source="odd \\"source\\"\\\\x"} 1');
    expect(lines).toContain('contact_orchestrator_end_contact_seconds_bucket{le="0.005",source="odd \\"source\\"\\\\x"} 1');
    expect(lines).toContain('contact_orchestrator_end_contact_seconds_bucket{le="0.0025",source="odd \\"source\\"\\\\x"} 0');
  });
});
