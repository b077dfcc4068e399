import { describe, expect, it } from 'vitest';
import { BatchReader } from './batch-reader.js';

async function* source(items: number[], pauseAfter?: { index: number; ms: number }): AsyncGenerator<number> {
  for (const [i, item] of items.entries()) {
    yield item;
    if (pauseAfter?.index === i) await new Promise((r) => setTimeout(r, pauseAfter.ms));
  }
}

describe('BatchReader', () => {
  it('takes what is available at once, up to the maximum', async () => {
    const reader = new BatchReader(source([1, 2, 3, 4, 5, 6, 7]));
    expect(await reader.next(3, 20)).toEqual([1, 2, 3]);
    expect(await reader.next(3, 20)).toEqual([4, 5, 6]);
    expect(await reader.next(3, 20)).toEqual([7]);
    expect(await reader.next(3, 20)).toBeUndefined();
  });

  it('stops lingering after lingerMs and keeps the pending event for the next batch', async () => {
    const reader = new BatchReader(source([1, 2, 3], { index: 1, ms: 100 }));
    expect(await reader.next(10, 10)).toEqual([1, 2]);
    expect(await reader.next(10, 10)).toEqual([3]);
    expect(await reader.next(10, 10)).toBeUndefined();
  });

  it('passes on a failure of the subscription', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      throw new Error('store unavailable');
    }
    const reader = new BatchReader(failing());
    await expect(reader.next(1, 10)).resolves.toEqual([1]);
    await expect(reader.next(1, 10)).rejects.toThrow('store unavailable');
  });
});
