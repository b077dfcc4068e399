import { describe, expect, it } from 'vitest';
import type { EndContactBatchResult } from './end-contact-batch.command.js';
import { ENTRY_OVERHEAD_BYTES, RememberedBatches } from './remembered-batches.js';

const resultOf = (n: number): EndContactBatchResult => ({
  caller: { branch: 'OnSuccess', status: 200 },
  results: Array.from({ length: n }, (_, i) => ({
    contactId: String(i),
    branch: 'OnInvalidContactID',
    status: 404,
    error: { code: 'InvalidContactID', message: `Contact ${i} not found` },
  })),
  summary: { OnSuccess: 0, OnInvalidSecurityUser: 0, OnUnauthorized: 0, OnInvalidContactID: n, Default: 0 },
});
const sizeOf = (key: string, result: EndContactBatchResult) =>
  Buffer.byteLength(JSON.stringify(result)) + 2 * key.length + ENTRY_OVERHEAD_BYTES;

function finish(cache: RememberedBatches, key: string, result: EndContactBatchResult): void {
  const answer = Promise.resolve(result);
  cache.running(key, answer);
  cache.finished(key, answer, result);
}

describe('RememberedBatches', () => {
  it('keeps finished answers within their bytes, forgetting the oldest first, and replays them equal', async () => {
    const result = resultOf(100);
    const one = sizeOf('k0', result);
    const cache = new RememberedBatches(3 * one, 1_000);
    for (let i = 0; i < 5; i++) finish(cache, `k${i}`, result);
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBe(3 * one);
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get('k1')).toBeUndefined();
    expect(await cache.get('k4')).toEqual(result);
  });

  it('keeps no more than its count, and no answer larger than its bytes', () => {
    const cache = new RememberedBatches(1_000_000, 2);
    for (let i = 0; i < 3; i++) finish(cache, `k${i}`, resultOf(1));
    expect(cache.size).toBe(2);
    expect(cache.get('k0')).toBeUndefined();
    finish(cache, 'big', resultOf(20_000));
    expect(cache.get('big')).toBeUndefined();
    expect(cache.bytes).toBeLessThanOrEqual(1_000_000);
  });

  it('forgets the batch least recently started or retried first', async () => {
    const cache = new RememberedBatches(1_000_000, 2);
    finish(cache, 'k0', resultOf(1));
    finish(cache, 'k1', resultOf(1));
    expect(await cache.get('k0')).toEqual(resultOf(1));
    finish(cache, 'k2', resultOf(1));
    expect(cache.get('k1')).toBeUndefined();
    expect(await cache.get('k0')).toEqual(resultOf(1));
  });

  it('counts a running batch by its entry only, and its answer once finished', () => {
    const cache = new RememberedBatches(1_000_000, 10);
    const result = resultOf(10);
    const answer = Promise.resolve(result);
    cache.running('k', answer);
    expect(cache.bytes).toBe(2 * 'k'.length + ENTRY_OVERHEAD_BYTES);
    cache.finished('k', answer, result);
    expect(cache.bytes).toBe(sizeOf('k', result));
  });

  it('shares a running batch with its retries; a forgotten or failed one is not kept', async () => {
    const cache = new RememberedBatches(1_000_000, 10);
    const running = new Promise<EndContactBatchResult>(() => undefined);
    cache.running('k', running);
    expect(cache.get('k')).toBe(running);
    cache.forget('k', running);
    expect(cache.get('k')).toBeUndefined();
    cache.finished('k', running, resultOf(1));
    expect(cache.get('k')).toBeUndefined();
  });

  it('with no bytes, still shares a running batch but keeps no answer', () => {
    const cache = new RememberedBatches(0, 10);
    const answer = Promise.resolve(resultOf(1));
    cache.running('k', answer);
    expect(cache.get('k')).toBe(answer);
    cache.finished('k', answer, resultOf(1));
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
