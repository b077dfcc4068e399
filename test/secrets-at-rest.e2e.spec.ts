/**
 * Secrets at rest and in output: DATA_DIR 0700 and
 * every file in it 0600, a secrets.json the service did not write (another owner, open to others, a symlink) is
 * refused, secrets.json is replaced by a rename, and the password of ESDB_CONNECTION_STRING is never printed.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { viewsFileIn } from '#projections';
import { OrchestratorClient } from './harness/client.js';
import { MAIN, removeDataDir, startServiceProcess, tempDataDir } from './harness/service.js';

/** The views file's name in DATA_DIR (its schema version is in it). */
const views = basename(viewsFileIn('.'));
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);
const embedded = { PLATFORM_TOKEN: '', SECURITY_USER_SIGNING_KEY: '' };
const run = (dataDir: string, env: Record<string, string>) =>
  spawnSync(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('files at rest', () => {
  it('DATA_DIR is created 0700 and every file in it is 0600: events.db, the views, their WAL and SHM, secrets.json', async () => {
    const parent = tempDataDir();
    const dataDir = join(parent, 'data');
    try {
      const service = await startServiceProcess({ dataDir, env: embedded });
      const api = new OrchestratorClient(service.url, /PLATFORM_TOKEN=(\S+)/.exec(service.output())![1]!);
      expect((await api.putProfile('p', ['Contacts.View'])).status).toBe(200);
      await api.startContact('acme', 'Phone', '7001');
      const files = readdirSync(dataDir);
      expect(files).toEqual(
        expect.arrayContaining([
          'events.db',
          'events.db-wal',
          'events.db-shm',
          views,
          `${views}-wal`,
          `${views}-shm`,
          'secrets.json',
        ]),
      );
      expect(mode(dataDir)).toBe('700');
      for (const file of files) expect(`${file} ${mode(join(dataDir, file))}`).toBe(`${file} 600`);
      await service.stop();
    } finally {
      removeDataDir(parent);
    }
  });

  it('files an older version left open (0644 in a 0755 DATA_DIR) are closed at start', async () => {
    const dataDir = tempDataDir();
    try {
      await (await startServiceProcess({ dataDir })).stop();
      chmodSync(dataDir, 0o755);
      chmodSync(join(dataDir, 'events.db'), 0o644);
      chmodSync(join(dataDir, views), 0o644);
      await (await startServiceProcess({ dataDir })).stop();
      expect(mode(dataDir)).toBe('700');
      expect(mode(join(dataDir, 'events.db'))).toBe('600');
      expect(mode(join(dataDir, views))).toBe('600');
    } finally {
      removeDataDir(dataDir);
    }
  });
});

describe("DATA_DIR and the files in it must be the service user's (exit 78 naming the path)", () => {
  const refused = (dataDir: string, expected: string) => {
    const result = run(dataDir, embedded);
    expect(result.status, result.stderr).toBe(78);
    expect(result.stderr).toContain('Invalid configuration: DATA_DIR');
    expect(result.stderr).toContain(expected);
  };

  it.runIf(process.getuid?.() === 0)('a DATA_DIR of mode 0777 owned by another user', () => {
    const dataDir = tempDataDir();
    try {
      chmodSync(dataDir, 0o777);
      chownSync(dataDir, 65534, 65534);
      refused(dataDir, `${dataDir} is owned by uid 65534`);
    } finally {
      removeDataDir(dataDir);
    }
  });

  it.runIf(process.getuid?.() === 0)('an events.db of mode 0666 planted by another user', () => {
    const dataDir = tempDataDir();
    try {
      writeFileSync(join(dataDir, 'events.db'), '', { mode: 0o666 });
      chmodSync(join(dataDir, 'events.db'), 0o666);
      chownSync(join(dataDir, 'events.db'), 65534, 65534);
      refused(dataDir, `${join(dataDir, 'events.db')} is owned by uid 65534`);
    } finally {
      removeDataDir(dataDir);
    }
  });

  it('an events.db that is a symbolic link', () => {
    const dataDir = tempDataDir();
    const elsewhere = tempDataDir();
    try {
      symlinkSync(join(elsewhere, 'events.db'), join(dataDir, 'events.db'));
      refused(dataDir, `${join(dataDir, 'events.db')} is a symbolic link`);
      expect(existsSync(join(elsewhere, 'events.db'))).toBe(false);
    } finally {
      removeDataDir(dataDir);
      removeDataDir(elsewhere);
    }
  });
});

describe('secrets.json', () => {
  const stored = () =>
    JSON.stringify({
      platformToken: randomBytes(24).toString('base64url'),
      securityUserSigningKey: randomBytes(32).toString('base64url'),
    });

  it('readable by group or others: refused, naming DATA_DIR and the mode (exit 78)', () => {
    const dataDir = tempDataDir();
    try {
      writeFileSync(join(dataDir, 'secrets.json'), stored(), { mode: 0o644 });
      chmodSync(join(dataDir, 'secrets.json'), 0o644);
      const result = run(dataDir, embedded);
      expect(result.status, result.stderr).toBe(78);
      expect(result.stderr).toContain('Invalid configuration: DATA_DIR');
      expect(result.stderr).toContain('mode 0644');
    } finally {
      removeDataDir(dataDir);
    }
  });

  it.runIf(process.getuid?.() === 0)('owned by another user: refused (exit 78)', () => {
    const dataDir = tempDataDir();
    try {
      writeFileSync(join(dataDir, 'secrets.json'), stored(), { mode: 0o600 });
      chownSync(join(dataDir, 'secrets.json'), 65534, 65534);
      const result = run(dataDir, embedded);
      expect(result.status, result.stderr).toBe(78);
      expect(result.stderr).toContain('owned by uid 65534');
    } finally {
      removeDataDir(dataDir);
    }
  });

  it('a symlink is refused, never written through', () => {
    const dataDir = tempDataDir();
    const elsewhere = tempDataDir();
    try {
      const target = join(elsewhere, 'planted.json');
      symlinkSync(target, join(dataDir, 'secrets.json'));
      const result = run(dataDir, embedded);
      expect(result.status, result.stderr).toBe(78);
      expect(result.stderr).toContain('symbolic link');
      expect(existsSync(target)).toBe(false);
    } finally {
      removeDataDir(dataDir);
      removeDataDir(elsewhere);
    }
  });

  it('is replaced atomically: a new file renamed over the old one (a new inode), no temp file left', async () => {
    const dataDir = tempDataDir();
    try {
      const file = join(dataDir, 'secrets.json');
      const platformToken = randomBytes(24).toString('base64url');
      writeFileSync(file, JSON.stringify({ platformToken }), { mode: 0o600 });
      const before = statSync(file).ino;
      // The signing key is missing: the service generates it and writes the file again.
      await (
        await startServiceProcess({
          dataDir,
          platformToken,
          env: { PLATFORM_TOKEN: '', SECURITY_USER_SIGNING_KEY: '' },
        })
      ).stop();
      const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
      expect(written.platformToken).toBe(platformToken);
      expect(written.securityUserSigningKey?.length).toBeGreaterThanOrEqual(43);
      expect(statSync(file).ino).not.toBe(before);
      expect(mode(file)).toBe('600');
      expect(readdirSync(dataDir).filter((name) => name.includes('secrets.json') && name !== 'secrets.json')).toEqual(
        [],
      );
    } finally {
      removeDataDir(dataDir);
    }
  });
});

describe('the password of ESDB_CONNECTION_STRING never reaches the output', () => {
  const secrets = {
    PLATFORM_TOKEN: randomBytes(24).toString('base64url'),
    SECURITY_USER_SIGNING_KEY: randomBytes(32).toString('base64url'),
  };

  it('a refused connection string: exit 78 naming the variable, no password', () => {
    const dataDir = tempDataDir();
    try {
      const result = run(dataDir, {
        ...secrets,
        EVENT_STORE: 'esdb',
        ESDB_CONNECTION_STRING: 'esdb://admin:Sup3rS3cretPW',
      });
      expect(result.status, result.stderr).toBe(78);
      expect(result.stderr).toContain('ESDB_CONNECTION_STRING');
      expect(result.stderr + result.stdout).not.toContain('Sup3rS3cretPW');
    } finally {
      removeDataDir(dataDir);
    }
  });

  it('an unreachable server: exit 1, no password', () => {
    const dataDir = tempDataDir();
    try {
      mkdirSync(dataDir, { recursive: true });
      const result = run(dataDir, {
        ...secrets,
        EVENT_STORE: 'esdb',
        ESDB_CONNECTION_STRING: 'esdb://admin:Sup3rS3cretPW@127.0.0.1:1?tls=false',
      });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain('ESDB_CONNECTION_STRING');
      expect(result.stderr + result.stdout).not.toContain('Sup3rS3cretPW');
    } finally {
      removeDataDir(dataDir);
    }
  });
});
