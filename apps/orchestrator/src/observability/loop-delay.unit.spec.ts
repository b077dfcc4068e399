/** The rolling window of event-loop delays (docs/operations.md, Observing it), driven by hand: no timer, no clock. */
import { describe, expect, it } from 'vitest';
import { DelayWindow } from './loop-delay.js';

const MS = 0.001;

describe('DelayWindow', () => {
  it('reads the same twice: a reading resets nothing', () => {
    const window = new DelayWindow(60, 0);
    for (let i = 0; i < 98; i++) window.record(1 * MS, 10);
    window.record(50 * MS, 20);
    window.record(60 * MS, 30);
    for (const summary of [window.summary(40), window.summary(41)]) {
      expect(summary.count).toBe(100);
      expect(summary.max).toBe(60 * MS);
      expect(summary.min).toBe(1 * MS);
      // 2 of 100 delays were 50 ms or more: the 99th percentile is one of them (a bucket is 1 % wide).
      expect(summary.percentile(99)).toBeGreaterThanOrEqual(50 * MS);
      expect(summary.percentile(99)).toBeLessThanOrEqual(50.5 * MS);
      expect(summary.percentile(50)).toBeCloseTo(1 * MS, 4);
    }
  });

  it('covers the last N complete seconds and the current one, then forgets them', () => {
    const window = new DelayWindow(3, 0);
    window.record(40 * MS, 500);
    window.record(2 * MS, 1_500);
    // At 3.9 s the window is seconds 0 to 2 (complete) and 3 (current): the 40 ms of second 0 is in it; at 4 s it is not.
    expect(window.summary(3_900).max).toBe(40 * MS);
    expect(window.summary(4_000).max).toBe(2 * MS);
    expect(window.summary(5_000).count).toBe(0);
  });

  it('forgets the counts of a second that left the window, not only its extremes', () => {
    const window = new DelayWindow(2, 0);
    for (let i = 0; i < 50; i++) window.record(1 * MS, 100);
    for (let i = 0; i < 10; i++) window.record(5 * MS, 1_100);
    for (let i = 0; i < 10; i++) window.record(20 * MS, 1_200);
    expect(window.summary(2_500).percentile(50)).toBeCloseTo(1 * MS, 4);
    // At 3 s second 0 (the fifty 1 ms delays) is gone: the 90th percentile is one of the 20 ms delays.
    const summary = window.summary(3_000);
    expect(summary.count).toBe(20);
    expect(summary.percentile(50)).toBeCloseTo(5 * MS, 4);
    expect(summary.percentile(90)).toBeCloseTo(20 * MS, 3);
  });

  it('counts the seconds of a stall, so a long one does not keep old delays', () => {
    const window = new DelayWindow(3, 0);
    window.record(5 * MS, 100);
    // The loop was held for 10 s: that delay is the newest, everything before it has left the window.
    window.record(10, 10_100);
    const summary = window.summary(10_100);
    expect(summary.count).toBe(1);
    expect(summary.min).toBe(10);
    expect(summary.percentile(99)).toBe(10);
  });

  it('gives the mean and the standard deviation exactly, and zeros when nothing was recorded', () => {
    const window = new DelayWindow(60, 0);
    expect(window.summary(0)).toMatchObject({ count: 0, min: 0, max: 0, mean: 0, stddev: 0 });
    expect(window.summary(0).percentile(99)).toBe(0);
    for (const ms of [1, 3, 1, 3]) window.record(ms * MS, 1);
    window.record(2 * MS, 2_500);
    const summary = window.summary(2_600);
    expect(summary.mean).toBeCloseTo(2 * MS, 12);
    expect(summary.stddev).toBeCloseTo(Math.sqrt(0.8) * MS, 12);
  });
});
