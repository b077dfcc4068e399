import { createHash } from 'node:crypto';

/**
 * A name-based UUID (v5 layout, SHA-1) so that a retried command writes events with the same IDs and the store
 * deduplicates them, even when the first attempt's answer was lost.
 */
export function eventIdFor(name: string): string {
  const hash = createHash('sha1').update('contact-orchestrator:').update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
