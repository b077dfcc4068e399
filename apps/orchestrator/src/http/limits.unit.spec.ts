import { describe, expect, it } from 'vitest';
import { loadConfiguration } from '../config/configuration.js';
import { ConnectionsPerAddress } from './client-address.js';
import { nestsDeeperThan, presentedCredential, rateLimitKey, trustedProxy } from './limits.js';

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
      maxConnectionsPerAddress: 256,
      maxRequestsPerSocket: 10_000,
      bodyLimitBytes: 16_384,
      largeBodyLimitBytes: 65_536,
      maxJsonDepth: 8,
      rateLimitPerMinute: 6_000,
      trustProxy: [],
      exportsPerCredential: 2,
      exportsAtOnce: 16,
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
    expect(() => loadConfiguration({ ...base, SSE_HEARTBEAT_MS: '20000', HTTP_IDLE_TIMEOUT_MS: '15000' })).toThrow(
      'Invalid configuration: HTTP_IDLE_TIMEOUT_MS',
    );
  });
  it('RATE_LIMIT_PER_MINUTE=0 turns limiting off', () => {
    expect(loadConfiguration({ ...base, RATE_LIMIT_PER_MINUTE: '0' }).http.rateLimitPerMinute).toBe(0);
  });
});

describe('the rate limit key', () => {
  it('is the credential when one was verified, else the client address, IPv6 by its /64', () => {
    expect(rateLimitKey('agent:ada', '2001:db8:1:2::9')).toBe('agent:ada');
    expect(rateLimitKey(undefined, '192.0.2.7')).toBe('address:192.0.2.7');
    expect(rateLimitKey(undefined, '::ffff:192.0.2.7')).toBe('address:192.0.2.7');
    expect(rateLimitKey(undefined, '2001:db8:1:2::9')).toBe(rateLimitKey(undefined, '2001:db8:1:2:ffff:1:2:3'));
    expect(rateLimitKey(undefined, '2001:db8:1:2::9')).not.toBe(rateLimitKey(undefined, '2001:db8:1:3::9'));
  });

  it("takes the Studio action's SecurityUser from its body, literal or {variable}; a bearer token first", () => {
    const route = '/v1/actions/end-a-contact';
    expect(presentedCredential(route, undefined, { SecurityUser: 'tok-1', ContactID: '1' })).toBe('tok-1');
    expect(presentedCredential(route, undefined, { SecurityUser: '{su}', variables: { su: 'tok-2' } })).toBe('tok-2');
    expect(presentedCredential(route, undefined, { variables: { SecurityUser: 'tok-3' } })).toBe('tok-3');
    expect(presentedCredential(route, undefined, { SecurityUser: '{missing}' })).toBeUndefined();
    expect(presentedCredential(route, 'bearer', { SecurityUser: 'tok-1' })).toBe('bearer');
    expect(presentedCredential('/v1/contacts', undefined, { SecurityUser: 'tok-1' })).toBeUndefined();
  });
});

describe('TRUST_PROXY', () => {
  it('is off by default, a list of addresses and CIDR blocks when set, and refuses anything else naming it', () => {
    expect(loadConfiguration({}).http.trustProxy).toEqual([]);
    expect(loadConfiguration({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,fd00::/8' }).http.trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
    ]);
    expect(() => loadConfiguration({ TRUST_PROXY: 'proxy.example' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfiguration({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
  });
});

describe('connections per address', () => {
  it('counts sockets per address (IPv6 by /64) until released; trusted proxies are exempt', () => {
    const caps = new ConnectionsPerAddress(2, trustedProxy(['10.0.0.0/8', 'fd00::1']));
    const a = [caps.admit('192.0.2.1'), caps.admit('192.0.2.1')];
    expect(a.map((x) => x.admitted)).toEqual([true, true]);
    expect(caps.admit('192.0.2.1').admitted).toBe(false);
    expect(caps.admit('::ffff:192.0.2.1').admitted).toBe(false);
    expect(caps.admit('192.0.2.2').admitted).toBe(true);
    a[0]!.release();
    a[0]!.release();
    expect(caps.admit('192.0.2.1').admitted).toBe(true);
    expect(caps.admit('192.0.2.1').admitted).toBe(false);
    caps.admit('2001:db8:0:1::1');
    caps.admit('2001:db8:0:1::2');
    expect(caps.admit('2001:db8:0:1:ffff::3').admitted).toBe(false);
    for (let i = 0; i < 5; i++) expect(caps.admit('10.1.2.3').admitted).toBe(true);
    for (let i = 0; i < 5; i++) expect(caps.admit('fd00::1').admitted).toBe(true);
  });
});
