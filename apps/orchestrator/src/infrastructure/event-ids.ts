import { v5, v7 } from 'uuid';

/*
 * Name-based event IDs (UUID v5) so that a retried command writes events with the same IDs and the store deduplicates
 * them, even when the first attempt's answer was lost. IDs were first made by hashing 'contact-orchestrator:' + name;
 * v5 hashes namespace bytes + name, so the namespace is that prefix's first 16 bytes and the name starts with the
 * rest: every ID already stored comes out byte for byte the same.
 */
const NAMESPACE = new TextEncoder().encode('contact-orchestr');

export const eventIdFor = (name: string): string => v5(`ator:${name}`, NAMESPACE);

/**
 * A new event's ID: UUID v7, time-ordered, so the log's unique index on event IDs grows at its right edge and a group
 * commit dirties a few index pages instead of one random page per event (measured: commits of 23 events take about
 * half the time of random v4 IDs on a 150,000-event log).
 */
export const newEventId = (): string => v7();
