/**
 * The PostgreSQL event store (EVENT_STORE=postgres): one table shared by every instance of the service, reached
 * through a pool of node-postgres clients (docs/decisions.md, PostgreSQL event store).
 * - An append is one transaction; its expected revision is enforced by UNIQUE (stream_id, revision), never by a read
 *   then a write, and a known event ID is an idempotent retry (port.ts, EventStore.append).
 * - Readers of the global log (readAll, subscribeToAll, headPosition) stop below the oldest transaction still running
 *   (pg_snapshot_xmin): a transaction that commits late can hold them back, never be skipped (schema.ts).
 * - Subscriptions wake on a NOTIFY sent by each append's transaction, heard by one listening client; they also poll,
 *   so a lost notification or a lost listener only delays them.
 */
import pg from 'pg';
import {
  AppendOutcomeUnknownError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadAllOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '../port.js';
import { LogFollower } from '../log-follower.js';
import { maskPostgresUrl } from './connection.js';
import { EVENT_COLUMNS, INDEX_BITS, MAX_EVENTS_PER_APPEND, migrate, toRecorded, type EventRow } from './schema.js';

export interface PostgresEventStoreOptions {
  /** Clients of the pool. Default 10. */
  poolSize?: number;
  /** Longest wait for a pooled client (connecting included) and for each statement's answer. Default 5000 ms. */
  storeTimeoutMs?: number;
  /** How often a waiting subscription reads again without a notification. Default 500 ms. */
  pollIntervalMs?: number;
  /** Told when the listening client is lost or back (its reconnections are this store's own). */
  onListener?: (state: 'lost' | 'listening', error?: unknown) => void;
  /** Test hook: runs inside each append's transaction after its rows are in, before COMMIT. */
  beforeCommit?: (streamId: string) => Promise<void>;
}

/** The channel each append's transaction notifies; its payload is empty (readers read the log). */
export const NOTIFY_CHANNEL = 'co_event_store';

/** The wait before a lost listening client is connected again (while a subscription waits). */
const RELISTEN_MS = 1_000;
/** The page a subscription reads at a time. */
const PAGE = 500;
/** Retries of an `any` or `stream_exists` append whose revision a concurrent writer took. */
const MAX_REVISION_RETRIES = 20;

/**
 * The guard of every read of the global log: rows of transactions older than the oldest one still running, all
 * of them settled. Positions follow transaction ids (schema.ts), so no row can later appear below what it passes.
 */
export const SETTLED = 'xid < pg_snapshot_xmin(pg_current_snapshot())';

/** A revision taken by a concurrent `any` or `stream_exists` writer: read the stream's end again and retry. */
class RevisionTaken extends Error {}

export class PostgresEventStore implements EventStore {
  private readonly pool: pg.Pool;
  private readonly storeTimeoutMs: number;
  private readonly follower: LogFollower;
  private schema: Promise<void> | undefined;
  private listener: pg.Client | undefined;
  private listening: Promise<void> | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly options: PostgresEventStoreOptions = {},
  ) {
    this.storeTimeoutMs = options.storeTimeoutMs ?? 5_000;
    // No cheap "has anything committed?" here: a waiting follower reads again every poll, NOTIFY wakes it sooner.
    this.follower = new LogFollower(() => true, options.pollIntervalMs ?? 500);
    this.pool = new pg.Pool({
      connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: this.storeTimeoutMs,
      query_timeout: this.storeTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'contact-orchestrator',
    });
    // An idle client lost (the server restarted): the pool drops it and connects a new one when next asked.
    this.pool.on('error', () => undefined);
  }

  /** Where the store is, its password masked: for log lines. */
  get location(): string {
    return maskPostgresUrl(this.connectionString);
  }

  /** Resolves once the server answered and the schema is migrated; rejects (EventStoreUnavailableError) otherwise. */
  opened(): Promise<void> {
    return this.ensureSchema();
  }

  async append(
    streamId: string,
    events: EventToAppend[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (this.closed) throw new EventStoreUnavailableError('The event store is closed');
    if (events.length === 0) throw new RangeError('append needs at least one event');
    if (events.length > MAX_EVENTS_PER_APPEND)
      throw new RangeError(`an append takes at most ${MAX_EVENTS_PER_APPEND} events`);
    // Serialised first: data JSON cannot hold fails with a TypeError before anything is sent.
    const rows = {
      ids: events.map((e) => e.id),
      types: events.map((e) => e.type),
      data: events.map((e) => JSON.stringify(e.data)),
      metadata: events.map((e) => JSON.stringify(e.metadata)),
    };
    await this.ensureSchema();
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.tryAppend(streamId, rows, options.expectedRevision);
        this.follower.notify();
        return result;
      } catch (error) {
        if (!(error instanceof RevisionTaken)) throw error;
        if (attempt >= MAX_REVISION_RETRIES) throw await this.conflict(streamId, options.expectedRevision);
      }
    }
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    const { rows } = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY revision`,
      [streamId],
    );
    return rows.map(toRecorded);
  }

  async readAll({ after, maxCount }: ReadAllOptions): Promise<RecordedEvent[]> {
    const { rows } = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE position > $1 AND ${SETTLED} ORDER BY position LIMIT $2`,
      [String(after ?? -1n), maxCount],
    );
    return rows.map(toRecorded);
  }

  /** The last position a reader may pass now (see SETTLED), undefined while there is none. */
  async headPosition(): Promise<bigint | undefined> {
    const { rows } = await this.query<{ position: string | null }>(
      `SELECT max(position) AS position FROM events WHERE ${SETTLED}`,
    );
    const position = rows[0]?.position;
    return position === null || position === undefined ? undefined : BigInt(position);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /**
   * Catch-up then live. A failed read ends the iteration with its error (EventStoreUnavailableError): the caller's
   * subscription resubscribes after its checkpoint (libs/subscription), as it does for every store.
   */
  async *subscribeToAll({ after, signal }: SubscribeOptions): AsyncIterable<RecordedEvent> {
    this.listen();
    const pages = this.follower.follow(
      (cursor) => this.readAll({ after: cursor, maxCount: PAGE }),
      after ?? -1n,
      signal,
    );
    for await (const page of pages) {
      for (const event of page) {
        if (signal?.aborted) return;
        yield event;
      }
    }
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.relisten);
    this.follower.close();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  // --- appends ---

  private async tryAppend(
    streamId: string,
    rows: { ids: string[]; types: string[]; data: string[]; metadata: string[] },
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const client = await this.connect();
    let committing = false;
    // Set when the connection is in doubt: the client is then destroyed, not given back to the pool.
    let broken: Error | undefined;
    let conflict: unknown;
    try {
      await client.query('BEGIN');
      let last: bigint;
      if (expected === 'any' || expected === 'stream_exists') {
        const actual = await lastRevision(client, streamId);
        if (expected === 'stream_exists' && actual === 'no_stream')
          throw new WrongExpectedRevisionError(streamId, expected, 'no_stream');
        last = actual === 'no_stream' ? -1n : actual;
      } else last = expected === 'no_stream' ? -1n : expected;
      // An exact revision must be the stream's last: the first row goes in only if that revision exists, and the
      // unique (stream_id, revision) refuses it if a later one does (or is being written).
      const inserted = await client.query<{ position: string }>(
        `INSERT INTO events (position, xid, stream_id, revision, event_id, type, data, metadata)
         SELECT (pg_current_xact_id()::text::bigint << ${INDEX_BITS}) + e.ord - 1, pg_current_xact_id(), $1,
                $2::bigint + e.ord, e.id, e.type, e.data::json, e.metadata::json
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS e(id, type, data, metadata, ord)
         ${typeof expected === 'bigint' ? 'WHERE EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND revision = $2::bigint)' : ''}
         RETURNING position`,
        [streamId, String(last), rows.ids, rows.types, rows.data, rows.metadata],
      );
      if (inserted.rowCount !== rows.ids.length) throw new RevisionTaken();
      await client.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, '']);
      await this.options.beforeCommit?.(streamId);
      committing = true;
      await client.query('COMMIT');
      const position = inserted.rows.reduce(
        (max, row) => (BigInt(row.position) > max ? BigInt(row.position) : max),
        0n,
      );
      return { nextExpectedRevision: last + BigInt(rows.ids.length), position };
    } catch (error) {
      if (committing) {
        // The server answered the COMMIT with an error and kept the session: it rolled back. No answer, or the
        // session ended (FATAL: terminated, shut down): it may have committed.
        if (isServerError(error) && (error as pg.DatabaseError).severity === 'ERROR')
          throw unavailable('refused the commit; nothing was written', error);
        broken = error as Error;
        throw new AppendOutcomeUnknownError(
          streamId,
          `PostgreSQL did not answer the commit (${(error as Error).message}): the events may or may not be written`,
          { cause: error },
        );
      }
      // Before COMMIT nothing is written: a lost connection rolls the transaction back on the server.
      const answered =
        isServerError(error) || error instanceof WrongExpectedRevisionError || error instanceof RevisionTaken;
      if (!answered) broken = error as Error;
      else await client.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
      if (error instanceof WrongExpectedRevisionError) throw error;
      if (isDataError(error))
        throw new TypeError(`PostgreSQL refused the events' JSON: ${(error as Error).message}`, { cause: error });
      if (!(error instanceof RevisionTaken) && !isUniqueViolation(error))
        throw unavailable('failed the append; nothing was written', error);
      conflict = error;
    } finally {
      client.release(broken);
    }
    return this.afterConflict(streamId, rows.ids, expected, conflict);
  }

  /**
   * A revision or an event ID already taken. The same event IDs in this stream are a retry of an append that was
   * written: it answers that append. Otherwise it is a conflict, or for `any` and `stream_exists` a reason to retry.
   */
  private async afterConflict(
    streamId: string,
    ids: string[],
    expected: ExpectedRevision,
    error: unknown,
  ): Promise<AppendResult> {
    const { rows } = await this.query<{ event_id: string; stream_id: string; revision: string; position: string }>(
      'SELECT event_id, stream_id, revision, position FROM events WHERE event_id = ANY($1::text[])',
      [ids],
    );
    if (rows.length > 0) {
      const byId = new Map(rows.map((row) => [row.event_id, row]));
      const last = byId.get(ids[ids.length - 1]!);
      if (rows.length === ids.length && last && rows.every((row) => row.stream_id === streamId))
        return { nextExpectedRevision: BigInt(last.revision), position: BigInt(last.position) };
      throw await this.conflict(streamId, expected);
    }
    if (
      (expected === 'any' || expected === 'stream_exists') &&
      (error instanceof RevisionTaken || isUniqueViolation(error))
    )
      throw new RevisionTaken();
    throw await this.conflict(streamId, expected);
  }

  private async conflict(streamId: string, expected: ExpectedRevision): Promise<WrongExpectedRevisionError> {
    const client = await this.connect();
    try {
      return new WrongExpectedRevisionError(streamId, expected, await lastRevision(client, streamId));
    } finally {
      client.release();
    }
  }

  // --- reads and connections ---

  private async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new EventStoreUnavailableError('The event store is closed');
    await this.ensureSchema();
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw unavailable('failed a read', error);
    }
  }

  /**
   * A pooled client; nothing was sent when this fails. The pool stops listening to a client's errors while it is
   * out: a connection lost between two statements would emit an 'error' no one hears (and end the process), so one
   * is heard here until the client goes back (release, which the next statement's failure also reaches).
   */
  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw new EventStoreUnavailableError('The event store is closed');
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable('cannot be reached; nothing was written', error);
    }
    client.on('error', whileCheckedOut);
    const release = client.release.bind(client);
    client.release = (error?: Error | boolean) => {
      client.removeListener('error', whileCheckedOut);
      release(error);
    };
    return client;
  }

  /** Migrates once per store; a failure (the server unreachable) is tried again by the next call. */
  private ensureSchema(): Promise<void> {
    this.schema ??= (async () => {
      const client = await this.connect();
      let broken: Error | undefined;
      try {
        await migrate(client);
        await refuseRestoredLog(client);
      } catch (error) {
        broken = error as Error;
        throw error instanceof EventStoreUnavailableError ? error : unavailable('cannot prepare its schema', error);
      } finally {
        client.release(broken);
      }
    })().catch((error: unknown) => {
      this.schema = undefined;
      throw error;
    });
    return this.schema;
  }

  // --- waking subscriptions ---

  /** Starts the listening client if none runs; its loss is retried, polling covers the meantime. */
  private listen(): void {
    if (this.closed || this.listener || this.listening || this.relisten) return;
    const client = new pg.Client({
      connectionString: this.connectionString,
      connectionTimeoutMillis: this.storeTimeoutMs,
      application_name: 'contact-orchestrator listener',
    });
    let lost = false;
    const onLost = (error?: unknown): void => {
      if (lost) return;
      lost = true;
      client.end().catch(() => undefined);
      if (this.listener === client) this.listener = undefined;
      if (this.closed) return;
      this.options.onListener?.('lost', error);
      this.relisten = setTimeout(() => {
        this.relisten = undefined;
        if (this.follower.waiting) this.listen();
      }, RELISTEN_MS);
      this.relisten.unref();
    };
    client.on('notification', () => this.follower.notify());
    client.on('error', onLost);
    client.on('end', () => onLost());
    this.listening = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
        if (this.closed) return void (await client.end());
        this.listener = client;
        this.options.onListener?.('listening');
        // Commits while no one listened were not heard.
        this.follower.notify();
      } catch (error) {
        onLost(error);
      } finally {
        this.listening = undefined;
      }
    })();
  }
}

async function lastRevision(client: pg.ClientBase, streamId: string): Promise<bigint | 'no_stream'> {
  const { rows } = await client.query<{ revision: string | null }>(
    'SELECT max(revision) AS revision FROM events WHERE stream_id = $1',
    [streamId],
  );
  const revision = rows[0]?.revision;
  return revision === null || revision === undefined ? 'no_stream' : BigInt(revision);
}

/**
 * Positions follow transaction ids, so a log restored into a cluster whose transaction counter is behind its rows
 * (a logical dump restored elsewhere) would give new events positions below old ones. Refused at start.
 */
async function refuseRestoredLog(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ behind: boolean }>(
    `SELECT coalesce(max(position) >> ${INDEX_BITS}, 0) >= pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS behind
       FROM events`,
  );
  if (rows[0]?.behind)
    throw new EventStoreUnavailableError(
      "the events table holds positions ahead of this server's transaction ids (a logical restore?): new events would sort before old ones",
    );
}

/** A checked-out client's connection error: the statement in progress, or the next one, fails with it too. */
const whileCheckedOut = (): void => undefined;

/** An error the server sent (it has an SQLSTATE): the connection itself is fine. */
const isServerError = (error: unknown): boolean => error instanceof pg.DatabaseError;
const isUniqueViolation = (error: unknown): boolean => error instanceof pg.DatabaseError && error.code === '23505';
/** Class 22, data exception: the JSON or a value the server cannot take. */
const isDataError = (error: unknown): boolean =>
  error instanceof pg.DatabaseError && error.code?.startsWith('22') === true;

function unavailable(what: string, error: unknown): EventStoreUnavailableError {
  if (error instanceof EventStoreUnavailableError) return error;
  const message = maskPostgresUrl(error instanceof Error ? error.message : String(error));
  return new EventStoreUnavailableError(`PostgreSQL ${what}: ${message}`, { cause: error });
}
