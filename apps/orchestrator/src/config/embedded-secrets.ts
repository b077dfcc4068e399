/**
 * Embedded mode: a missing platform token or signing key is generated once and kept in DATA_DIR/secrets.json,
 * so restarts keep issued SecurityUsers valid. The generated token is printed once, when it is created.
 *
 * The file is trusted only when it is a regular file (not a symlink) owned by the service's user and closed to
 * group and others (0600). It is written atomically: a temp file opened with O_EXCL|O_NOFOLLOW, fsync, rename over
 * the old one, fsync of the folder; a crash leaves the old file or the new one, never half of either.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SINGLE_KEY_KID, type SigningKeyEntry } from './configuration.js';
import { prepareDataDir } from './data-dir.js';

export type Secrets = {
  platformToken: string;
  securityUserSigningKeys: SigningKeyEntry[];
  generatedPlatformToken: boolean;
};
type Stored = { platformToken?: string; securityUserSigningKey?: string };

export class UntrustedSecretsFileError extends Error {
  override readonly name = 'UntrustedSecretsFileError';
}

export function ensureEmbeddedSecrets(
  dataDir: string,
  given: { platformToken?: string; securityUserSigningKeys?: SigningKeyEntry[] },
): Secrets {
  const file = join(dataDir, 'secrets.json');
  const stored = readSecretsFile(file);
  const platformToken = given.platformToken ?? stored.platformToken ?? randomBytes(24).toString('base64url');
  const singleKey = stored.securityUserSigningKey ?? randomBytes(32).toString('base64url');
  const securityUserSigningKeys = given.securityUserSigningKeys ?? [{ kid: SINGLE_KEY_KID, secret: singleKey }];
  const generatedPlatformToken = given.platformToken === undefined && stored.platformToken === undefined;
  // Keep what is stored; add only what was generated now. A value given once in the environment never erases it.
  const toStore: Stored = {
    ...stored,
    ...(given.platformToken === undefined ? { platformToken } : {}),
    ...(given.securityUserSigningKeys === undefined ? { securityUserSigningKey: singleKey } : {}),
  };
  if (JSON.stringify(toStore) !== JSON.stringify(stored)) {
    prepareDataDir(dataDir);
    writeAtomically(file, JSON.stringify(toStore, null, 2));
  }
  return { platformToken, securityUserSigningKeys, generatedPlatformToken };
}

/** The stored secrets, or none when there is no file; refuses a file another user could have placed or read. */
export function readSecretsFile(file: string): Stored {
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink is refused (ELOOP), never followed; the checks below are made on what was opened.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    if (code === 'ELOOP')
      throw new UntrustedSecretsFileError(`${file} is a symbolic link: refused (replace it by the file itself)`);
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UntrustedSecretsFileError(`${file} is not a regular file`);
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid)
      throw new UntrustedSecretsFileError(
        `${file} is owned by uid ${stat.uid}, not by the service's user (uid ${uid}): refused`,
      );
    if ((stat.mode & 0o077) !== 0) {
      throw new UntrustedSecretsFileError(
        `${file} has mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}: group and others may not have any access (chmod 600)`,
      );
    }
    return JSON.parse(readFileSync(fd, 'utf8')) as Stored;
  } finally {
    closeSync(fd);
  }
}

/** Temp file (never through a symlink, never an existing file), fsync, rename, fsync of the folder. */
export function writeAtomically(file: string, content: string): void {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  const dir = openSync(join(file, '..'), constants.O_RDONLY);
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
