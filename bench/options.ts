/**
 * Every size and duration of the bench, from the environment, with defaults that finish in a few minutes.
 * Each loop in the bench is bounded by one of these (a count, a time, or both).
 */
export type Part =
  'http' | 'store' | 'rebuild' | 'audit' | 'kafka' | 'batch' | 'image' | 'soak' | 'growth' | 'postgres';
const PARTS: readonly Part[] = [
  'http',
  'store',
  'rebuild',
  'audit',
  'kafka',
  'batch',
  'image',
  'soak',
  'growth',
  'postgres',
];

export interface BenchOptions {
  /** BENCH_ONLY=http,store,rebuild,audit,kafka,batch,image,soak,growth,postgres: the parts to run (default all); the others print as skipped. */
  parts: ReadonlySet<Part>;
  /** Whole-bench bound: past it the bench cleans up and exits non-zero, whatever hangs. */
  timeoutSeconds: number;
  http: { connections: number; seconds: number; contacts: number };
  store: { appends: number; callers: number; batch: number };
  rebuild: { events: number; timeoutSeconds: number };
  audit: { events: number };
  kafka: { outcomes: number; batch: number; timeoutSeconds: number; endsPerSecond: number; endSeconds: number };
  /** Bulk end: contacts in the one batch, and as many single ends (BENCH_BATCH_CONTACTS, at most 1,000 per batch). */
  batch: { contacts: number };
  /** Everything held at once against one service on a log of `contacts` active contacts (bench/soak.ts). */
  soak: {
    contacts: number;
    agents: number;
    /** Keyed bulk ends of `batchSize` unknown IDs each, `batchesInFlight` at a time. */
    batches: number;
    batchSize: number;
    batchesInFlight: number;
    exports: number;
    /** Exports read at this rate; the other half of them are never read. */
    exportReadKBps: number;
    streams: number;
    /** Single ends of the log's active contacts per second, for the streams to carry. */
    endsPerSecond: number;
    /** Everything stays open this long after the last batch answered. */
    holdSeconds: number;
    timeoutSeconds: number;
  };
  /** The same costs on a large log and on an empty one (bench/growth.ts). */
  growth: { events: number; rounds: number; timeoutSeconds: number };
}

export class OptionsError extends Error {}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < min || value > max)
    throw new OptionsError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function parts(): Set<Part> {
  const raw = process.env.BENCH_ONLY;
  if (raw === undefined || raw.trim() === '') return new Set(PARTS);
  const chosen = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const unknown = chosen.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length > 0)
    throw new OptionsError(`BENCH_ONLY names unknown parts ${unknown.join(', ')}; known: ${PARTS.join(', ')}`);
  return new Set(chosen as Part[]);
}

export function loadOptions(): BenchOptions {
  const connections = integer('BENCH_CONNECTIONS', 64, 1, 1024);
  const contacts = integer('BENCH_CONTACTS', 150_000, 100, 5_000_000);
  // autocannon shares the request cap between connections; a connection with a share of 0 would be unbounded.
  if (contacts < connections)
    throw new OptionsError(`BENCH_CONTACTS (${contacts}) must be at least BENCH_CONNECTIONS (${connections})`);
  return {
    parts: parts(),
    timeoutSeconds: integer('BENCH_TIMEOUT_SECONDS', 3_600, 10, 86_400),
    http: {
      connections,
      seconds: integer('BENCH_HTTP_SECONDS', 10, 1, 600),
      // Each request ends a distinct contact; when they run out first the run is shorter and the table says so.
      contacts,
    },
    store: {
      appends: integer('BENCH_APPENDS', 20_000, 100, 5_000_000),
      callers: integer('BENCH_APPEND_CALLERS', 512, 1, 100_000),
      // The SQLite store's group-commit size (its maxBatch default); the raw insert commits batches of this size.
      batch: integer('BENCH_GROUP_BATCH', 256, 1, 100_000),
    },
    rebuild: {
      events: integer('BENCH_REBUILD_EVENTS', 1_000_000, 1_000, 50_000_000),
      timeoutSeconds: integer('BENCH_REBUILD_TIMEOUT_SECONDS', 600, 5, 7_200),
    },
    audit: { events: integer('BENCH_AUDIT_EVENTS', 1_000_000, 1_000, 50_000_000) },
    kafka: {
      outcomes: integer('BENCH_FANOUT_OUTCOMES', 20_000, 500, 5_000_000),
      // The forwarder's maxBatch default: both sides send this many outcomes per transaction.
      batch: integer('BENCH_FANOUT_BATCH', 500, 1, 100_000),
      timeoutSeconds: integer('BENCH_FANOUT_TIMEOUT_SECONDS', 180, 5, 3_600),
      endsPerSecond: integer('BENCH_E2E_RATE', 1_000, 1, 100_000),
      endSeconds: integer('BENCH_E2E_SECONDS', 5, 1, 600),
    },
    batch: { contacts: integer('BENCH_BATCH_CONTACTS', 1_000, 10, 1_000) },
    soak: {
      contacts: integer('BENCH_SOAK_CONTACTS', 1_000_000, 1_000, 50_000_000),
      // At least 200: two business units of 100 agents each (streams in one, batches from the other).
      agents: integer('BENCH_SOAK_AGENTS', 10_000, 200, 1_000_000),
      batches: integer('BENCH_SOAK_BATCHES', 1_000, 1, 100_000),
      batchSize: integer('BENCH_SOAK_BATCH_SIZE', 1_000, 1, 1_000),
      batchesInFlight: integer('BENCH_SOAK_BATCHES_IN_FLIGHT', 4, 1, 64),
      exports: integer('BENCH_SOAK_EXPORTS', 50, 0, 500),
      exportReadKBps: integer('BENCH_SOAK_EXPORT_READ_KBPS', 64, 1, 1_000_000),
      streams: integer('BENCH_SOAK_STREAMS', 100, 0, 100),
      endsPerSecond: integer('BENCH_SOAK_ENDS_PER_SECOND', 200, 0, 10_000),
      holdSeconds: integer('BENCH_SOAK_HOLD_SECONDS', 30, 0, 3_600),
      timeoutSeconds: integer('BENCH_SOAK_TIMEOUT_SECONDS', 900, 10, 7_200),
    },
    growth: {
      events: integer('BENCH_GROWTH_EVENTS', 10_000_000, 10_000, 100_000_000),
      rounds: integer('BENCH_GROWTH_ROUNDS', 3, 1, 20),
      timeoutSeconds: integer('BENCH_GROWTH_TIMEOUT_SECONDS', 900, 10, 7_200),
    },
  };
}
