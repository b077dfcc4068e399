/**
 * The PostgreSQL rows, all in one run against one PostgreSQL server (POSTGRES_URL's, or a private one started from
 * Debian's package as the tests do): durable EndContact over HTTP with one instance on PostgreSQL and with two
 * sharing it (the load split between them), beside the embedded store and the bare Fastify route under the same
 * load; and the adapter's appends (many concurrent single-event appends, as the service issues them) against raw
 * batched INSERTs of the same rows into a table of the same shape on the same server.
 */
import pg from 'pg';
import { PostgresEventStore } from '#event-store/postgres';
import { resolvePostgres } from '../test/harness/postgres.js';
import { startServiceProcess } from '../test/harness/service.js';
import { endContacts } from './http-load.js';
import { answersOtherThan, runLoad, startBareRoute, type LoadResult } from './load-generator.js';
import type { BenchOptions } from './options.js';
import {
  BENCH_SERVICE_ENV,
  contactIds,
  registerContacts,
  settle,
  startService,
  withDirectory,
  type ServiceUnderTest,
} from './service-setup.js';
import { defer, formatInt, formatMs, progress } from './support.js';
import type { LogEvent } from './event-log.js';
import { contactStarts, timedAppends } from './store.js';
import { ratioRow, unmeasured, type Row } from './table.js';

export const POSTGRES_FIGURES = [
  { figure: 'EndContact over HTTP, embedded store (same run as the PostgreSQL rows)', target: '≥ 0.30×' },
  { figure: 'EndContact over HTTP, one instance on PostgreSQL', target: 'reported' },
  { figure: 'EndContact over HTTP, two instances on PostgreSQL', target: 'reported' },
  { figure: 'PostgreSQL appends through the adapter', target: 'reported' },
] as const;

const WARM_UP_ENDS = 500;

/** Ends `ids` through one or several instances at once, the connections split between them; results merged. */
async function endThrough(
  targets: ServiceUnderTest[],
  ids: readonly string[],
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const share = Math.ceil(ids.length / targets.length);
  const results = await Promise.all(
    targets.map((t, i) =>
      endContacts(
        t,
        ids.slice(i * share, (i + 1) * share),
        Math.max(1, Math.floor(connections / targets.length)),
        seconds,
      ),
    ),
  );
  const statuses: Record<string, number> = {};
  for (const r of results)
    for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  return {
    seconds: Math.max(...results.map((r) => r.seconds)),
    statuses,
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    sent: results.reduce((sum, r) => sum + r.sent, 0),
    p50: Math.max(...results.map((r) => r.p50)),
    // The slower instance's p99: an upper bound of the merged one.
    p99: Math.max(...results.map((r) => r.p99)),
  };
}

/** Registers and ends contacts on `targets` (the first registers them all: the log is shared), warm first. */
async function measureEnds(
  targets: ServiceUnderTest[],
  options: BenchOptions['http'],
  first: number,
): Promise<LoadResult> {
  const warmUp = contactIds(WARM_UP_ENDS, first);
  const ids = contactIds(options.contacts, first + 1_000_000);
  await registerContacts(targets[0]!, [...warmUp, ...ids], options.connections);
  await endThrough(targets, warmUp, options.connections, 30);
  for (const t of targets) await settle(t);
  return endThrough(targets, ids, options.connections, options.seconds);
}

async function instancesOn(url: string, count: number): Promise<ServiceUnderTest[]> {
  const env = { ...BENCH_SERVICE_ENV, EVENT_STORE: 'postgres', POSTGRES_URL: url };
  const first = await startService({ EVENT_STORE: 'postgres', POSTGRES_URL: url });
  const targets = [first];
  try {
    for (let i = 1; i < count; i++)
      targets.push(await withDirectory(await startServiceProcess({ env, platformToken: first.service.platformToken })));
    return targets;
  } catch (error) {
    await Promise.all(targets.map((t) => t.stop()));
    throw error;
  }
}

async function adapterAppends(url: string, events: readonly LogEvent[], callers: number): Promise<number> {
  const store = new PostgresEventStore(url, { poolSize: 10 });
  try {
    await store.opened();
    return await timedAppends(store, events, callers);
  } finally {
    await store.close();
  }
}

/** The floor: the same rows as multi-row INSERTs, `batch` per transaction, one connection, same durability. */
async function rawInserts(url: string, events: readonly LogEvent[], batch: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE raw_events (
      position bigserial PRIMARY KEY, stream_id text NOT NULL, revision bigint NOT NULL, event_id text NOT NULL UNIQUE,
      type text NOT NULL, data json NOT NULL, metadata json NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (stream_id, revision))`);
    const started = performance.now();
    for (let from = 0; from < events.length; from += batch) {
      const slice = events.slice(from, from + batch);
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO raw_events (stream_id, revision, event_id, type, data, metadata)
         SELECT s, 0, e, t, d::json, m::json FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(s, e, t, d, m)`,
        [
          slice.map((e) => e.streamId),
          slice.map((e) => e.id),
          slice.map((e) => e.type),
          slice.map((e) => JSON.stringify(e.data)),
          slice.map((e) => JSON.stringify(e.metadata)),
        ],
      );
      await client.query('COMMIT');
    }
    return (performance.now() - started) / 1000;
  } finally {
    await client.end();
  }
}

const perSecond = (r: LoadResult): number => (r.statuses['200'] ?? 0) / r.seconds;
const describeEnds = (r: LoadResult): string =>
  `${formatInt(perSecond(r))} ok/s, p99 ${formatMs(r.p99)} (${formatInt(r.statuses['200'] ?? 0)} OK, ${formatInt(answersOtherThan(r, 200))} other, ${r.seconds.toFixed(1)} s)`;

export async function measurePostgres(http: BenchOptions['http'], store: BenchOptions['store']): Promise<Row[]> {
  const server = await resolvePostgres();
  if (server.kind !== 'ready') return unmeasured(POSTGRES_FIGURES, 'skipped', server.reason);
  const stopServer = defer(() => server.stop());
  try {
    progress(`postgres: server ${server.source}; bare Fastify route, ${http.connections} connections`);
    const bare = await startBareRoute();
    let bareResult: LoadResult;
    try {
      bareResult = await runLoad({
        url: bare.url,
        connections: http.connections,
        seconds: http.seconds,
        method: 'POST',
        headers: { authorization: 'Bearer bench' },
        request: (i) => ({ path: `/v1/contacts/${7_000_000_000 + i}/end` }),
      });
    } finally {
      await bare.stop();
    }
    const bareRate = (bareResult.statuses['200'] ?? 0) / bareResult.seconds;
    const bareText = `bare Fastify POST route: ${formatInt(bareRate)} req/s`;

    progress('postgres: EndContact on the embedded store');
    const embedded = await startService();
    let embeddedResult: LoadResult;
    try {
      embeddedResult = await measureEnds([embedded], http, 20_000_000_000);
    } finally {
      await embedded.stop();
    }

    const results: LoadResult[] = [];
    for (const count of [1, 2]) {
      progress(`postgres: EndContact with ${count} instance(s) on one database`);
      const url = await server.database(`bench_${count}`);
      const targets = await instancesOn(url, count);
      try {
        results.push(await measureEnds(targets, http, 21_000_000_000 + count * 10_000_000));
      } finally {
        await Promise.all(targets.map((t) => t.stop()));
      }
    }

    const events = contactStarts(store.appends);
    progress(`postgres: raw batched INSERTs of ${formatInt(events.length)} rows, ${store.batch} per transaction`);
    const rawSeconds = await rawInserts(await server.database('bench_raw'), events, store.batch);
    progress(`postgres: ${formatInt(events.length)} appends through the adapter, ${store.callers} concurrent callers`);
    const adapterSeconds = await adapterAppends(await server.database('bench_adapter'), events, store.callers);

    return [
      ratioRow(
        POSTGRES_FIGURES[0].figure,
        describeEnds(embeddedResult),
        perSecond(embeddedResult),
        bareText,
        bareRate,
        0.3,
      ),
      {
        ...ratioRow(
          POSTGRES_FIGURES[1].figure,
          describeEnds(results[0]!),
          perSecond(results[0]!),
          bareText,
          bareRate,
          0,
        ),
        target: 'reported',
        result: 'n/a',
      },
      {
        ...ratioRow(
          POSTGRES_FIGURES[2].figure,
          describeEnds(results[1]!),
          perSecond(results[1]!),
          bareText,
          bareRate,
          0,
        ),
        target: 'reported',
        result: 'n/a',
      },
      {
        ...ratioRow(
          POSTGRES_FIGURES[3].figure,
          `${formatInt(events.length / adapterSeconds)} appends/s (${formatInt(events.length)} single-event appends, ${store.callers} callers)`,
          events.length / adapterSeconds,
          `raw multi-row INSERT, same rows, ${store.batch}/transaction, one connection: ${formatInt(events.length / rawSeconds)} rows/s`,
          events.length / rawSeconds,
          0,
        ),
        target: 'reported',
        result: 'n/a',
      },
    ];
  } finally {
    await stopServer();
  }
}
