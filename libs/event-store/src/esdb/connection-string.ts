/**
 * The connection string the adapter hands to @eventstore/db-client 6.2, from the one the operator wrote.
 * - `kurrentdb://`, `kdb://` (and `+discover`) mean what `esdb://` means; this client parses only `esdb`.
 * - throwOnAppendFailure is forced to true: with false, the client's batch append reports a conflict's actual
 *   revision as BigInt(hasCurrentStreamRevision()), that is 1, whatever the server said.
 * - What this client would ignore with a warning is refused: an unknown option, and tlsVerifyCert=false
 *   (6.2 does not implement it; a private CA is given with tlsCAFile).
 */
import { createRequire } from 'node:module';
import type { EventStoreDBClient } from '@eventstore/db-client';

// Loaded on first use: the client costs ~20 MB, which the embedded (SQLite) service never needs.
const load = (): typeof import('@eventstore/db-client') =>
  createRequire(import.meta.url)('@eventstore/db-client') as typeof import('@eventstore/db-client');

/** The connection string cannot be used; the message says why, without the credentials. */
export class InvalidConnectionStringError extends Error {
  override readonly name = 'InvalidConnectionStringError';
}

const SCHEMES: Record<string, 'esdb' | 'esdb+discover'> = {
  esdb: 'esdb',
  'esdb+discover': 'esdb+discover',
  kurrentdb: 'esdb',
  'kurrentdb+discover': 'esdb+discover',
  kdb: 'esdb',
  'kdb+discover': 'esdb+discover',
};

/** Option names compared as the client compares them: case, `-` and `_` ignored. */
const flat = (key: string): string => key.trim().toLowerCase().replace(/[_-]/g, '');

/** The options @eventstore/db-client 6.2.1 reads (parseConnectionString.js); it ignores any other. */
const CLIENT_OPTIONS = [
  'tls',
  'tlsCAFile',
  'tlsVerifyCert',
  'userCertFile',
  'userKeyFile',
  'connectionName',
  'defaultDeadline',
  'keepAliveInterval',
  'keepAliveTimeout',
  'maxDiscoverAttempts',
  'discoveryInterval',
  'gossipTimeout',
  'nodePreference',
  'throwOnAppendFailure',
];
const KNOWN = new Set(CLIENT_OPTIONS.map(flat));

/** `scheme://user:password@host` written anywhere in a text: the password replaced by `***`. */
export function maskConnectionStrings(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/?#@\s"]*:)[^\s"]*@/g, '$1***@');
}

/**
 * A refusal's message without the credentials: when the string carries any (user:password@, or what the client
 * would read as a host and a port that is not a number), every fragment the client quotes is masked, and so is
 * every piece of the password the message would otherwise repeat.
 */
function withoutCredentials(message: string, raw: string): string {
  const rest = raw.trim().replace(/^[^:/?#@]+:\/\//, '');
  const at = rest.lastIndexOf('@');
  const userinfo =
    at < 0 ? /^[^,/?#]*:([^,/?#]*[^\d,/?#][^,/?#]*)/.exec(rest)?.[1] : rest.slice(rest.indexOf(':') + 1, at);
  if (userinfo === undefined || userinfo === '') return message;
  let masked = message.replace(/"[^"]*"/g, '"***"');
  for (const piece of [userinfo, ...userinfo.split(/[?&=,@:]/)]
    .filter((p) => p.length >= 3)
    .sort((a, b) => b.length - a.length)) {
    masked = masked.split(piece).join('***');
  }
  return masked;
}

export function toClientConnectionString(raw: string): string {
  try {
    return clientConnectionString(raw);
  } catch (error) {
    if (error instanceof InvalidConnectionStringError)
      throw new InvalidConnectionStringError(withoutCredentials(error.message, raw));
    throw error;
  }
}

function clientConnectionString(raw: string): string {
  const text = raw.trim();
  const scheme = /^([^:/?#@]+):\/\//.exec(text);
  const mapped = scheme === null ? undefined : SCHEMES[scheme[1]!.toLowerCase()];
  if (scheme === null || mapped === undefined) {
    throw new InvalidConnectionStringError(
      `must start with one of ${Object.keys(SCHEMES)
        .map((s) => `${s}://`)
        .join(', ')}`,
    );
  }
  const rest = text.slice(scheme[0].length);
  const query = rest.indexOf('?');
  const kept: string[] = [];
  for (const pair of query < 0 ? [] : rest.slice(query + 1).split('&')) {
    const [key = '', value, ...extra] = pair.split('=');
    if (key.trim() === '' || value === undefined || value.trim() === '' || extra.length > 0) {
      throw new InvalidConnectionStringError(`has an option that is not key=value: ${JSON.stringify(pair)}`);
    }
    if (!KNOWN.has(flat(key))) {
      throw new InvalidConnectionStringError(
        `has an option @eventstore/db-client 6.2 does not know: ${key} (known: ${CLIENT_OPTIONS.join(', ')})`,
      );
    }
    if (flat(key) === 'tlsverifycert' && value.trim().toLowerCase() === 'false') {
      throw new InvalidConnectionStringError(
        'sets tlsVerifyCert=false, which @eventstore/db-client 6.2 ignores; give the CA with tlsCAFile=<path>',
      );
    }
    if (flat(key) !== 'throwonappendfailure') kept.push(pair);
  }
  const base = query < 0 ? rest : rest.slice(0, query);
  return `${mapped}://${base}${kept.length > 0 ? `?${kept.join('&')}` : ''}`;
}

/** A client for the connection string; whatever the client refuses (a bad host or port, a missing certificate file) is refused here. */
export function connectClient(raw: string): EventStoreDBClient {
  const converted = toClientConnectionString(raw);
  try {
    return load().EventStoreDBClient.connectionString(converted);
  } catch (error) {
    throw new InvalidConnectionStringError(
      withoutCredentials(`is refused by @eventstore/db-client: ${(error as Error).message}`, raw),
    );
  }
}

/** Throws InvalidConnectionStringError unless a client can be built from the string; connects to nothing. */
export function checkConnectionString(raw: string): void {
  void connectClient(raw).dispose();
}
