/**
 * EventStoreDB positions are {commit, prepare} pairs of unsigned 64-bit log offsets, ordered by commit then
 * prepare. The port wants one bigint: commit in the high 64 bits, prepare in the low 64 bits, so the order of
 * the bigints is the order of the pairs and nothing is lost.
 */
import type { Position } from '@eventstore/db-client';

const U64_LIMIT = 1n << 64n;
const U64_MASK = U64_LIMIT - 1n;
/** What servers older than 22.6 put in the position of an event read from a stream: "not known". */
export const UNKNOWN_LOG_POSITION = U64_MASK;

const checkU64 = (name: string, value: bigint): void => {
  if (value < 0n || value >= U64_LIMIT)
    throw new RangeError(`EventStoreDB ${name} position out of range (0..2^64-1): ${value}`);
};

export function encodePosition({ commit, prepare }: Position): bigint {
  checkU64('commit', commit);
  checkU64('prepare', prepare);
  return (commit << 64n) | prepare;
}

export function decodePosition(position: bigint): Position {
  if (position < 0n || position >= U64_LIMIT << 64n) throw new RangeError(`Not an EventStoreDB position: ${position}`);
  return { commit: position >> 64n, prepare: position & U64_MASK };
}
