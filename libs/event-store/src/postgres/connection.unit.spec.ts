import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidPostgresUrlError, checkPostgresUrl, maskPostgresUrl, postgresConnectionString } from './connection.js';

describe('PostgreSQL connection string', () => {
  it('shows a password as *** wherever a URL is printed, and leaves a URL without one as it is', () => {
    expect(maskPostgresUrl('postgresql://svc:s3cr%40t@db:5432/events')).toBe('postgresql://svc:***@db:5432/events');
    expect(maskPostgresUrl('failed at postgres://u:p@h/db.')).toBe('failed at postgres://u:***@h/db.');
    expect(maskPostgresUrl('postgres://svc@db/events')).toBe('postgres://svc@db/events');
  });

  it('takes the password from POSTGRES_PASSWORD_FILE (its first line) over the URL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'co-pg-password-'));
    try {
      writeFileSync(join(dir, 'password'), 'p@ss:w/rd\n');
      const url = postgresConnectionString('postgresql://svc:old@db:5432/events', join(dir, 'password'));
      expect(decodeURIComponent(new URL(url).password)).toBe('p@ss:w/rd');
      expect(maskPostgresUrl(url)).toBe('postgresql://svc:***@db:5432/events');
      writeFileSync(join(dir, 'empty'), '\n');
      expect(() => postgresConnectionString('postgresql://svc@db/events', join(dir, 'empty'))).toThrow(/is empty/);
      expect(() => postgresConnectionString('postgresql://svc@db/events', join(dir, 'missing'))).toThrow(
        InvalidPostgresUrlError,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what is not a postgresql:// URL naming a database', () => {
    expect(() => checkPostgresUrl('db:5432')).toThrow(InvalidPostgresUrlError);
    expect(() => checkPostgresUrl('mysql://db/events')).toThrow(/not postgresql/);
    expect(() => checkPostgresUrl('postgresql://db:5432')).toThrow(/names no database/);
    expect(checkPostgresUrl('postgres://db/events').hostname).toBe('db');
  });
});
