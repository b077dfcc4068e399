/**
 * Where the PostgreSQL store is (POSTGRES_URL) and its password: in the URL, or read from a file
 * (POSTGRES_PASSWORD_FILE), which wins. A URL is never logged with its password: maskPostgresUrl shows it as ***.
 */
import { readFileSync } from 'node:fs';

export class InvalidPostgresUrlError extends Error {
  override readonly name = 'InvalidPostgresUrlError';
}

/** Checks that `url` is a postgres:// or postgresql:// URL with a database; throws InvalidPostgresUrlError. */
export function checkPostgresUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidPostgresUrlError('is not a URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new InvalidPostgresUrlError(`has scheme ${parsed.protocol.replace(/:$/, '')}, not postgresql`);
  if (parsed.pathname.replace(/^\//, '') === '') throw new InvalidPostgresUrlError('names no database');
  return parsed;
}

/**
 * The URL the pool connects with: `url`, with the password of `passwordFile` (its first line) when one is given.
 * Throws when the file cannot be read or is empty; the error names the file, never its content.
 */
export function postgresConnectionString(url: string, passwordFile?: string): string {
  const parsed = checkPostgresUrl(url);
  if (passwordFile === undefined) return url;
  let password: string;
  try {
    password = readFileSync(passwordFile, 'utf8').split(/\r?\n/)[0] ?? '';
  } catch (error) {
    throw new InvalidPostgresUrlError(`${passwordFile} cannot be read: ${(error as Error).message}`);
  }
  if (password === '') throw new InvalidPostgresUrlError(`${passwordFile} is empty`);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** `url` with its password, if any, shown as ***: what a log line or an error message may print. */
export function maskPostgresUrl(url: string): string {
  return url.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)[^@/\s]*@/gi, '$1***@');
}
