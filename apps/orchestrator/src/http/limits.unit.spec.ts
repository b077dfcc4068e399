import { describe, expect, it } from 'vitest';
import { loadConfiguration } from '../config/configuration.js';
import { nestsDeeperThan } from './limits.js';

describe('nestsDeeperThan', () => {
  it.each([
    ['{}', 1, false],
    ['{"a":{}}', 1, true],
    ['{"a":{}}', 2, false],
    ['[[[1]]]', 2, true],
    ['[[[1]]]', 3, false],
    ['[{"a":[{"b":1}]}]', 3, true],
    ['[{"a":[{"b":1}]}]', 4, false],
    // Brackets and escaped quotes inside strings do not count.
    ['{"a":"[[[[{{{{"}', 1, false],
    ['{"a":"\\"[[[[","b":[1]}', 2, false],
    ['{"a":"\\\\","b":[[1]]}', 2, true],
    // Siblings do not add up.
    ['[[1],[2],[3],[4]]', 2, false],
  ])('%s deeper than %i: %s', (json, max, deeper) => {
    expect(nestsDeeperThan(json, max)).toBe(deeper);
  });
});

describe('HTTP limits in the configuration', () => {
  const base = { DATA_DIR: '/tmp/x' };
  it('has defaults', () => {
    expect(loadConfiguration(base).http).toEqual({
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
      idleTimeoutMs: 60_000,
      maxConnections: 1_000,
      maxRequestsPerSocket: 10_000,
      bodyLimitBytes: 16_384,
      largeBodyLimitBytes: 65_536,
      maxJsonDepth: 8,
      rateLimitPerMinute: 6_000,
      streamsPerCredential: 4,
    });
  });
  it.each([
    ['HTTP_REQUEST_TIMEOUT_MS', 'soon'],
    ['HTTP_MAX_CONNECTIONS', '0'],
    ['HTTP_BODY_LIMIT_BYTES', '10'],
    ['HTTP_MAX_JSON_DEPTH', '1'],
    ['RATE_LIMIT_PER_MINUTE', '-1'],
    ['SSE_STREAMS_PER_CREDENTIAL', '0'],
  ])('a wrong %s is refused naming it', (variable, value) => {
    expect(() => loadConfiguration({ ...base, [variable]: value })).toThrow(`Invalid configuration: ${variable}`);
  });
  it('refuses an idle timeout that would cut event streams between heartbeats', () => {
    expect(() => loadConfiguration({ ...base, SSE_HEARTBEAT_MS: '20000', HTTP_IDLE_TIMEOUT_MS: '15000' })).toThrow('Invalid configuration: HTTP_IDLE_TIMEOUT_MS');
  });
  it('RATE_LIMIT_PER_MINUTE=0 turns limiting off', () => {
    expect(loadConfiguration({ ...base, RATE_LIMIT_PER_MINUTE: '0' }).http.rateLimitPerMinute).toBe(0);
  });
});
