/**
 * npm run bench:store-growth — what one EndContact costs the embedded store's SQLite on a large log against an empty
 * one, without the service around it: per end, the stream read on a read connection (the handler's, 2 MiB cache) and
 * the append on the writer's (BEGIN IMMEDIATE, the stream's last revision, the insert, COMMIT; 4 MiB cache), each
 * right after the other's commit as in the service. `synchronous = OFF`: the fsync is the same on both logs and would
 * hide the difference. Variants: as the service runs, a 64 MiB writer cache, mmap on both connections. The large log
 * is the bench's own generator (BENCH_STORE_EVENTS, 5,000,000 by default); on it the ends go to contacts picked at
 * random (their streams spread over the whole index), on the empty log to contacts started just before.
 * Prints µs per end, read and append apart. docs/benchmarks.md says what it found.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeLog } from './rebuild.js';

const EVENTS = Number(process.env['BENCH_STORE_EVENTS'] ?? 5_000_000);
const ENDS = Number(process.env['BENCH_STORE_ENDS'] ?? 5_000);
type Variant = 'service' | 'writer-cache-64MiB' | 'mmap';
const VARIANTS: Variant[] = ['service', 'writer-cache-64MiB', 'mmap'];

const data = JSON.stringify({ contactId: '1', endedBy: 'agent-1', disconnectReason: 'TerminateScript' });
const metadata = JSON.stringify({ correlationId: 'c', causationId: 'c', source: 'http', schemaVersion: 1 });

function endsOn(file: string, variant: Variant, streams: string[]): { read: number; append: number } {
  const writer = new Database(file);
  const reader = new Database(file);
  try {
    writer.pragma('journal_mode = WAL');
    writer.pragma('synchronous = OFF');
    writer.pragma(variant === 'writer-cache-64MiB' ? 'cache_size = -65536' : 'cache_size = -4096');
    reader.pragma('query_only = ON');
    reader.pragma('cache_size = -2048');
    if (variant === 'mmap') for (const db of [reader, writer]) db.pragma('mmap_size = 4294967296');
    const readStream = reader.prepare('SELECT * FROM events WHERE stream_id = ? ORDER BY revision');
    const lastRevision = writer
      .prepare<[string], number | null>('SELECT MAX(revision) FROM events WHERE stream_id = ?')
      .pluck(true);
    const insert = writer.prepare(
      'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    let read = 0;
    let append = 0;
    let id = Date.now() * 1_000;
    for (const stream of streams) {
      const started = performance.now();
      readStream.all(stream);
      const between = performance.now();
      writer.exec('BEGIN IMMEDIATE');
      const revision = (lastRevision.get(stream) ?? -1) + 1;
      insert.run(
        `end-${(id++).toString(16)}`,
        stream,
        revision,
        'ContactEnded',
        data,
        metadata,
        new Date().toISOString(),
      );
      writer.exec('COMMIT');
      read += between - started;
      append += performance.now() - between;
    }
    return { read: (read * 1_000) / streams.length, append: (append * 1_000) / streams.length };
  } finally {
    reader.close();
    writer.close();
  }
}

/** Contacts of the large log, at random; the audit streams (hundreds of thousands of events each) are passed over. */
function randomContacts(file: string, count: number): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const head = db.prepare<[], number>('SELECT MAX(position) FROM events').pluck(true).get() ?? 0;
    const at = db.prepare<[number], string>('SELECT stream_id FROM events WHERE position = ?').pluck(true);
    const picked: string[] = [];
    while (picked.length < count) {
      const stream = at.get(1 + Math.floor(Math.random() * head));
      if (stream?.startsWith('contact-')) picked.push(stream);
    }
    return picked;
  } finally {
    db.close();
  }
}

/** `count` contacts started in the empty log, as the service would have: one ContactStarted each. */
function startedContacts(file: string, count: number): string[] {
  const db = new Database(file);
  try {
    const insert = db.prepare(
      'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, 0, ?, ?, ?, ?)',
    );
    const streams = Array.from({ length: count }, (_, i) => `contact-${1_000_000_000 + i * 7_919}`);
    db.transaction(() => {
      for (const stream of streams)
        insert.run(`start-${stream}`, stream, 'ContactStarted', data, metadata, new Date().toISOString());
    })();
    return streams;
  } finally {
    db.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'co-bench-store-'));
try {
  const large = join(dir, 'large.db');
  console.error(`writing a ${EVENTS.toLocaleString('en-US')}-event log…`);
  await writeLog(large, EVENTS);
  console.log('| log | variant | read µs | append µs | per end µs |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const variant of VARIANTS) {
    const empty = join(dir, `empty-${variant}.db`);
    await writeLog(empty, 0);
    for (const [log, file, streams] of [
      ['empty', empty, startedContacts(empty, ENDS)],
      [`${EVENTS.toLocaleString('en-US')} events`, large, randomContacts(large, ENDS)],
    ] as const) {
      const { read, append } = endsOn(file, variant, [...streams]);
      console.log(
        `| ${log} | ${variant} | ${read.toFixed(1)} | ${append.toFixed(1)} | ${(read + append).toFixed(1)} |`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
