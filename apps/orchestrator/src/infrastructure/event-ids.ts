import { v5 } from 'uuid';

/*
 * Name-based event IDs (UUID v5) so that a retried command writes events with the same IDs and the store deduplicates
 * them, even when the first attempt's answer was lost. IDs were first made by hashing 'contact-orchestrator:' + name;
 * v5 hashes namespace bytes + name, so the namespace is that prefix's first 16 bytes and the name starts with the
 * rest: every ID already stored comes out byte for byte the same.
 */
const NAMESPACE = new TextEncoder().encode('contact-orchestr');

export const eventIdFor = (name: string): string => v5(`ator:${name}`, NAMESPACE);
