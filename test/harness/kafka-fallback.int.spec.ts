// The harness's order when a way fails: an image that cannot be pulled is passed over with its reason, and the next
// way (the local KRaft broker) serves the suite instead of failing it.
import { describe, expect, it } from 'vitest';
import { docker, dockerEngine } from './containers.js';
import { resolveKafkaFresh } from './kafka.js';
import { printSkip } from './skip.js';

const SUITE = 'kafka harness fallback';
const engine = await dockerEngine();
if (!engine.ok) printSkip(SUITE, engine.reason);

describe.skipIf(!engine.ok)(SUITE, () => {
  it('an image that cannot be pulled moves on to the local KRaft broker and says why', async () => {
    const image = 'registry.invalid/contact-orchestrator/no-such-kafka:0';
    expect(
      await docker(['image', 'inspect', image]).then(
        () => 'present',
        () => 'absent',
      ),
    ).toBe('absent');
    const resolution = await resolveKafkaFresh({ containerImage: image, ignoreEnv: true });
    try {
      expect(resolution.kind).toBe('ready');
      if (resolution.kind !== 'ready') return;
      expect(resolution.source).toBe('local-kraft');
      expect(resolution.passedOver?.join('; ')).toContain(`testcontainers: ${image} did not start`);
    } finally {
      if (resolution.kind === 'ready') await resolution.stop();
    }
  }, 300_000);
});
