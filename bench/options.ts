/**
 * Every size and duration of the bench, from the environment, with defaults that finish in a few minutes.
 * Each loop in the bench is bounded by one of these (a count, a time, or both).
 */
export type Part = 'http' | 'store' | 'rebuild' | 'audit' | 'kafka' | 'batch' | 'image';
const PARTS: readonly Part[] = ['http', 'store', 'rebuild', 'audit', 'kafka', 'batch', 'image'];

export interface BenchOptions {
  /** BENCH_ONLY=http,store,rebuild,audit,kafka,batch,image: the parts to run (default all); the others print as skipped. */
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
}

export class OptionsError extends Error {}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < min || value > max) throw new OptionsError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function parts(): Set<Part> {
  const raw = process.env.BENCH_ONLY;
  if (raw === undefined || raw.trim() === '') return new Set(PARTS);
  const chosen = raw.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = chosen.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length > 0) throw new OptionsError(`BENCH_ONLY names unknown parts ${unknown.join(', ')}; known: ${PARTS.join(', ')}`);
  return new Set(chosen as Part[]);
}

export function loadOptions(): BenchOptions {
  const connections = integer('BENCH_CONNECTIONS', 64, 1, 1024);
  const contacts = integer('BENCH_CONTACTS', 150_000, 100, 5_000_000);
  // autocannon shares the request cap between connections; a connection with a share of 0 would be unbounded.
  if (contacts < connections) throw new OptionsError(`BENCH_CONTACTS (${contacts}) must be at least BENCH_CONNECTIONS (${connections})`);
  return {
    parts: parts(),
    timeoutSeconds: integer('BENCH_TIMEOUT_SECONDS', 1_800, 10, 86_400),
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
  };
}
