import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleProbe, type IdleProbeOptions } from './broker-probe.js';
import { TimeoutError } from '#runtime';

/** A check whose every call is answered by the test (or by the default answer). */
function scripted(answer: () => Promise<void> = () => Promise.resolve()) {
  const calls: number[] = [];
  const events: string[] = [];
  let next = answer;
  const options = (overrides: Partial<IdleProbeOptions> = {}): IdleProbeOptions => ({
    intervalMs: 1_000,
    timeoutMs: 300,
    check: () => {
      calls.push(Date.now());
      return next();
    },
    onDown: (error) => void events.push(`down: ${error instanceof Error ? error.message : String(error)}`),
    onUp: () => void events.push('up'),
    ...overrides,
  });
  return { calls, events, options, answer: (a: () => Promise<void>) => (next = a) };
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('IdleProbe', () => {
  let probe: IdleProbe | undefined;
  beforeEach(() => void vi.useFakeTimers({ now: 0 }));
  afterEach(() => {
    probe?.stop();
    vi.useRealTimers();
  });

  it('checks only after intervalMs without a transaction, then every intervalMs while idle', async () => {
    const s = scripted();
    probe = new IdleProbe(s.options());
    await vi.advanceTimersByTimeAsync(999);
    expect(s.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls).toEqual([1_000]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(s.calls).toEqual([1_000, 2_000, 3_000]);
    expect(s.events).toEqual([]); // healthy: nothing reported
  });

  it('never checks while a transaction is in flight, and waits intervalMs after it ended', async () => {
    const s = scripted();
    probe = new IdleProbe(s.options());
    await vi.advanceTimersByTimeAsync(600);
    const tx = deferred();
    const running = probe.around(() => tx.promise);
    await vi.advanceTimersByTimeAsync(3_000); // t = 3 600, the transaction still in flight
    expect(s.calls).toEqual([]);
    tx.resolve();
    await running;
    await vi.advanceTimersByTimeAsync(999);
    expect(s.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls).toEqual([4_600]);
  });

  it('drops the result of a check that overlapped a transaction', async () => {
    const s = scripted();
    probe = new IdleProbe(s.options({ timeoutMs: 5_000 }));
    const check = deferred();
    s.answer(() => check.promise);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.calls).toHaveLength(1);
    await probe.around(() => Promise.resolve('committed')); // begins and ends while the check is pending
    check.reject(new Error('connection refused'));
    await vi.advanceTimersByTimeAsync(10);
    expect(s.events).toEqual([]);
  });

  it('reports one onDown per episode and one onUp at the first success (a check or a committed transaction)', async () => {
    const s = scripted(() => Promise.reject(new Error('connect ECONNREFUSED')));
    probe = new IdleProbe(s.options());
    await vi.advanceTimersByTimeAsync(3_000);
    expect(s.calls).toHaveLength(3);
    expect(s.events).toEqual(['down: connect ECONNREFUSED']);
    s.answer(() => Promise.resolve());
    await vi.advanceTimersByTimeAsync(2_000);
    expect(s.events).toEqual(['down: connect ECONNREFUSED', 'up']);

    s.answer(() => Promise.reject(new Error('gone again')));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.events.slice(2)).toEqual(['down: gone again']);
    await expect(probe.around(() => Promise.resolve(7))).resolves.toBe(7);
    expect(s.events.slice(2)).toEqual(['down: gone again', 'up']);
    await expect(probe.around(() => Promise.reject(new Error('tx failed')))).rejects.toThrow('tx failed');
    expect(s.events.slice(2)).toEqual(['down: gone again', 'up']); // a failed transaction is the forwarder's to report
  });

  it('counts a check that does not answer within timeoutMs as a failure', async () => {
    const s = scripted(() => new Promise<void>(() => {}));
    const errors: unknown[] = [];
    probe = new IdleProbe(s.options({ onDown: (e) => void errors.push(e) }));
    await vi.advanceTimersByTimeAsync(1_299);
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TimeoutError);
    expect((errors[0] as Error).message).toBe('no answer within 300 ms');
    await vi.advanceTimersByTimeAsync(1_300); // next check 1 000 ms after the last one settled, times out again
    expect(s.calls).toEqual([1_000, 2_300]);
    expect(errors).toHaveLength(1);
  });

  it('intervalMs Infinity never checks (and does not spin on an overflowing timer)', async () => {
    const s = scripted();
    probe = new IdleProbe(s.options({ intervalMs: Infinity }));
    await vi.advanceTimersByTimeAsync(30 * 24 * 3_600_000);
    expect(s.calls).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('stop() leaves no timer behind and ignores a check still pending', async () => {
    const s = scripted();
    probe = new IdleProbe(s.options());
    expect(vi.getTimerCount()).toBe(1);
    probe.stop();
    expect(vi.getTimerCount()).toBe(0);

    const check = deferred();
    s.answer(() => check.promise);
    probe = new IdleProbe(s.options());
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(1); // the check's deadline
    probe.stop();
    expect(vi.getTimerCount()).toBe(0);
    check.reject(new Error('late'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(s.calls).toHaveLength(1);
    expect(s.events).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
