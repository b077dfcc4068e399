/**
 * Connection strings (defect 2): KurrentDB's schemes work with @eventstore/db-client 6.2, and what the client
 * would crash on or silently ignore is refused with InvalidConnectionStringError, before any connection.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkConnectionString,
  InvalidConnectionStringError,
  maskConnectionStrings,
  toClientConnectionString,
} from './connection-string.js';
import { EsdbEventStore } from './esdb-event-store.js';
import { FakeEsdb } from './testing/fake-esdb.js';

describe('connection strings', () => {
  it.each([
    ['kurrentdb://node1:2113?tls=false', 'esdb://node1:2113?tls=false'],
    ['kdb://admin:changeit@node1:2113', 'esdb://admin:changeit@node1:2113'],
    ['kurrentdb+discover://cluster.example.com:2113', 'esdb+discover://cluster.example.com:2113'],
    ['KDB+DISCOVER://a,b,c', 'esdb+discover://a,b,c'],
    ['esdb://a:2113?tls=false&throwOnAppendFailure=false', 'esdb://a:2113?tls=false'],
    ['esdb://a:2113?throw_on_append_failure=false', 'esdb://a:2113'],
    [
      'esdb://a:2113?nodePreference=follower&defaultDeadline=2000',
      'esdb://a:2113?nodePreference=follower&defaultDeadline=2000',
    ],
  ])('%s is given to the client as %s', (raw, expected) => {
    expect(toClientConnectionString(raw)).toBe(expected);
    expect(() => checkConnectionString(raw)).not.toThrow();
  });

  it.each([
    ['http://node1:2113', /must start with/],
    ['node1:2113', /must start with/],
    ['kurrent://node1:2113', /must start with/],
    ['kurrentdb://', /refused by @eventstore\/db-client/],
    ['kdb://node1:abc', /refused by @eventstore\/db-client/],
    ['esdb://node1:2113:7', /refused by @eventstore\/db-client/],
    ['esdb://node1?tls', /not key=value/],
    ['esdb://node1?tls=maybe', /refused by @eventstore\/db-client/],
    ['kurrentdb://node1?tlsVerifyCert=false', /tlsVerifyCert=false/],
    ['esdb://node1?retries=3', /does not know: retries/],
    [`esdb://node1?tlsCAFile=/nonexistent/${randomUUID()}.pem`, /certificate file/],
  ])('%s is refused', (raw, reason) => {
    let error: unknown;
    try {
      checkConnectionString(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConnectionStringError);
    expect((error as Error).message).toMatch(reason);
    expect(() => new EsdbEventStore(raw)).toThrow(InvalidConnectionStringError);
  });

  describe('against the gRPC harness', () => {
    let fake: FakeEsdb;
    beforeAll(async () => {
      fake = await FakeEsdb.start();
    });
    afterAll(async () => fake.stop());

    it('a kurrentdb:// or kdb:// string reaches the server', async () => {
      for (const scheme of ['kurrentdb', 'kdb']) {
        const store = new EsdbEventStore(fake.connectionString().replace(/^esdb:/, `${scheme}:`));
        try {
          const id = `cs-${randomUUID()}`;
          const metadata = { correlationId: 'c', causationId: 'c', source: 'http' as const, schemaVersion: 1 };
          await store.append(id, [{ id: randomUUID(), type: 'A', data: {}, metadata }], {
            expectedRevision: 'no_stream',
          });
          expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A']);
        } finally {
          await store.close();
        }
      }
    });
  });
});

describe('a refused connection string never repeats its password', () => {
  it.each([
    'esdb://admin:s3cretPW',
    'esdb://admin:s3cretPW@node1:abc?tls=false',
    'esdb://admin:s3cr?etPW@node1',
    'kurrentdb://admin:s3cretPW@node1?tls=maybe',
    'esdb://admin:s3cretPW@node1?retries=3',
  ])('%s', (connectionString) => {
    let message = '';
    try {
      checkConnectionString(connectionString);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConnectionStringError);
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    for (const piece of ['s3cretPW', 's3cr', 'etPW']) expect(message).not.toContain(piece);
  });

  it('masks the password of any connection string written in a text', () => {
    expect(maskConnectionStrings('at esdb://admin:changeit@node1:2113?tls=false: refused')).toBe(
      'at esdb://admin:***@node1:2113?tls=false: refused',
    );
    expect(maskConnectionStrings('esdb://node1:2113?tls=false')).toBe('esdb://node1:2113?tls=false');
  });
});
