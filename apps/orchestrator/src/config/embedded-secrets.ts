/**
 * Embedded mode: a missing platform token or signing key is generated once and kept under DATA_DIR (mode 0600),
 * so restarts keep issued SecurityUsers valid. The generated token is printed once, when it is created.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Secrets = { platformToken: string; securityUserSigningKey: string; generatedPlatformToken: boolean };

export function ensureEmbeddedSecrets(dataDir: string, given: { platformToken?: string; securityUserSigningKey?: string }): Secrets {
  const file = join(dataDir, 'secrets.json');
  let stored: { platformToken?: string; securityUserSigningKey?: string } = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
  const platformToken = given.platformToken ?? stored.platformToken ?? randomBytes(24).toString('base64url');
  const securityUserSigningKey = given.securityUserSigningKey ?? stored.securityUserSigningKey ?? randomBytes(32).toString('base64url');
  const generatedPlatformToken = given.platformToken === undefined && stored.platformToken === undefined;
  // Keep what is stored; add only what was generated now. A value given once in the environment never erases it.
  const toStore = {
    ...stored,
    ...(given.platformToken === undefined ? { platformToken } : {}),
    ...(given.securityUserSigningKey === undefined ? { securityUserSigningKey } : {}),
  };
  if (JSON.stringify(toStore) !== JSON.stringify(stored)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(toStore, null, 2), { mode: 0o600 });
  }
  return { platformToken, securityUserSigningKey, generatedPlatformToken };
}
