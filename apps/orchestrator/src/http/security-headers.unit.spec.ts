import { describe, expect, it } from 'vitest';
import { securityHeaders } from './security-headers.js';

describe('securityHeaders', () => {
  const headers = securityHeaders();

  it('are the headers helmet sets, computed once: a policy that loads nothing from another host', () => {
    expect(headers['content-security-policy']).toContain("default-src 'self'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(headers['referrer-policy']).toBe('no-referrer');
  });

  it('leave HSTS to the TLS terminator', () => {
    expect(headers).not.toHaveProperty('strict-transport-security');
  });

  it('follow the options they are given', () => {
    expect(securityHeaders({ contentSecurityPolicy: false, xFrameOptions: { action: 'deny' } })).toMatchObject({
      'x-frame-options': 'DENY',
    });
    expect(securityHeaders({ contentSecurityPolicy: false })).not.toHaveProperty('content-security-policy');
  });
});
