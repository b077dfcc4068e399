/**
 * The connection string the adapter hands to @eventstore/db-client 6.2, from the one the operator wrote.
 * - throwOnAppendFailure is forced to true: with false, the client's batch append reports a conflict's actual
 *   revision as BigInt(hasCurrentStreamRevision()), that is 1, whatever the server said.
 */

/** The connection string cannot be used; the message says why, without the credentials. */
export class InvalidConnectionStringError extends Error {
  override readonly name = 'InvalidConnectionStringError';
}

/** Option names compared as the client compares them: case, `-` and `_` ignored. */
const flat = (key: string): string => key.trim().toLowerCase().replace(/[_-]/g, '');

export function toClientConnectionString(raw: string): string {
  const text = raw.trim();
  const query = text.indexOf('?');
  if (query < 0) return text;
  const pairs = text
    .slice(query + 1)
    .split('&')
    .filter((pair) => flat(pair.split('=')[0] ?? '') !== 'throwonappendfailure');
  return pairs.length === 0 ? text.slice(0, query) : `${text.slice(0, query)}?${pairs.join('&')}`;
}
