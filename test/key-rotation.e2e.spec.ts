/**
 * The SecurityUser key ring over HTTP: a rotation keeps issued SecurityUsers valid until they expire,
 * the newest key signs, a key leaving the ring takes its tokens with it, and no token lives longer than the TTL.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { MAIN, removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';

const OLD = randomBytes(32).toString('base64url');
const NEW = randomBytes(32).toString('base64url');
const kidOf = (token: string): unknown => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid;
/** A read a SecurityUser with Contacts.View may make: 200 when the credential is accepted, 401 when not. */
const statusWith = (api: OrchestratorClient, securityUser: string) =>
  api.request('GET', '/v1/contacts?limit=1', { token: securityUser }).then((a) => a.status);

describe('key rotation with SECURITY_USER_SIGNING_KEYS', () => {
  const dataDir = tempDataDir();
  const platformToken = randomBytes(24).toString('base64url');
  let service: ServiceProcess | undefined;
  const start = async (keys: string): Promise<OrchestratorClient> => {
    await service?.stop();
    service = await startServiceProcess({
      dataDir,
      platformToken,
      env: { SECURITY_USER_SIGNING_KEY: '', SECURITY_USER_SIGNING_KEYS: keys },
    });
    return new OrchestratorClient(service.url, platformToken);
  };
  afterAll(async () => {
    await service?.stop();
    removeDataDir(dataDir);
  });

  it('old and new SecurityUsers are both valid after a rotation; the old ones go with their key', async () => {
    let api = await start(`2026-06:${OLD}`);
    await api.putProfile('viewer', ['Contacts.View']);
    await api.putAgent('ada', 'acme', 'viewer');
    const before = await api.securityUser('ada');
    expect(kidOf(before)).toBe('2026-06');
    expect(await statusWith(api, before)).toBe(200);

    api = await start(`2026-12:${NEW},2026-06:${OLD}`);
    const after = await api.securityUser('ada');
    expect(kidOf(after)).toBe('2026-12');
    expect(await statusWith(api, before)).toBe(200);
    expect(await statusWith(api, after)).toBe(200);

    api = await start(`2026-12:${NEW}`);
    expect(await statusWith(api, before)).toBe(401);
    expect(await statusWith(api, after)).toBe(200);
  });
});

describe('maximum token age (SECURITY_USER_TTL_SECONDS)', () => {
  const dataDir = tempDataDir();
  const key = randomBytes(32).toString('base64url');
  let service: ServiceProcess;
  let api: OrchestratorClient;
  afterAll(async () => {
    await service?.stop();
    removeDataDir(dataDir);
  });

  // Signed with the service's own key (the single SECURITY_USER_SIGNING_KEY is kid "default"), as a key holder could.
  const forge = (iat: number, exp: number) =>
    new SignJWT({ bu: 'acme' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: 'default' })
      .setSubject('ada')
      .setIssuer('contact-orchestrator')
      .setAudience('security-user')
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(Buffer.from(key));

  it('a correctly signed SecurityUser whose exp is 100 years away is refused', async () => {
    service = await startServiceProcess({
      dataDir,
      env: { SECURITY_USER_SIGNING_KEY: key, SECURITY_USER_TTL_SECONDS: '600' },
    });
    api = new OrchestratorClient(service.url, service.platformToken);
    await api.putProfile('viewer', ['Contacts.View']);
    await api.putAgent('ada', 'acme', 'viewer');
    const now = Math.floor(Date.now() / 1000);
    expect(await statusWith(api, await forge(now, now + 600))).toBe(200);
    expect(await statusWith(api, await forge(now, now + 100 * 365 * 24 * 3600))).toBe(401);
    expect(await statusWith(api, await forge(now - 3600, now + 600))).toBe(401);
  });
});

describe('weak or example secrets stop the service (exit 78, naming the variable)', () => {
  const run = (env: Record<string, string>) => {
    const dataDir = tempDataDir();
    try {
      return spawnSync(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', ...env },
        encoding: 'utf8',
        timeout: 20_000,
      });
    } finally {
      removeDataDir(dataDir);
    }
  };

  it.each([
    [{ PLATFORM_TOKEN: 'p4T9-xQ2_mZ8rL1k' }, 'PLATFORM_TOKEN'],
    [{ SECURITY_USER_SIGNING_KEY: 'a'.repeat(32) }, 'SECURITY_USER_SIGNING_KEY'],
    [{ PLATFORM_TOKEN: 'local-dev-platform-token-change-me' }, 'PLATFORM_TOKEN'],
    [{ SECURITY_USER_SIGNING_KEY: 'local-dev-signing-key-change-me-0123456789abcdef' }, 'SECURITY_USER_SIGNING_KEY'],
    [{ SECURITY_USER_SIGNING_KEYS: `k1:${'ab'.repeat(24)}` }, 'SECURITY_USER_SIGNING_KEYS'],
  ])('%j', (env, variable) => {
    const result = run(env);
    expect(result.status, result.stderr).toBe(78);
    expect(result.stderr).toContain(`Invalid configuration: ${variable}`);
  });
});
