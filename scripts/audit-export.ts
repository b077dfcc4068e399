/**
 * npm run audit:export -- [--from P|TIME] [--to P|TIME] [--business-unit BU] [--agent A] [--contact C] [--type T] [--out FILE]
 * The lines of GET /v1/audit/events (the same code), read from the log of DATA_DIR (or EventStoreDB) without the
 * service: read-only, safe while it runs. A progress bar on a terminal; a page is read only once the last one is written.
 */
import { SingleBar } from 'cli-progress';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import {
  auditLines,
  exportEnd,
  pagesOf,
  type AuditFilter,
  type LogPages,
} from '../apps/orchestrator/src/audit/audit-events.js';
import { SqliteLogPages } from '../apps/orchestrator/src/audit/sqlite-log-pages.js';
import { loadToolConfiguration } from '../apps/orchestrator/src/config/configuration.js';
import { sharedEventStore } from '../apps/orchestrator/src/infrastructure/event-store.provider.js';
import {
  POINT_IN_TIME_PATTERN,
  parsePointInTime,
  type PointInTime,
} from '../apps/orchestrator/src/read-side/point-in-time.js';

function fail(message: string): never {
  process.stderr.write(`audit:export: ${message}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        'business-unit': { type: 'string' },
        agent: { type: 'string' },
        contact: { type: 'string' },
        type: { type: 'string' },
        out: { type: 'string' },
      },
      strict: true,
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

const point = (value: string | undefined, name: string): PointInTime | undefined => {
  if (value === undefined) return undefined;
  const parsed = POINT_IN_TIME_PATTERN.test(value) ? parsePointInTime(value) : undefined;
  return (
    parsed ?? fail(`--${name} must be a log position or an ISO-8601 time with a zone, got ${JSON.stringify(value)}`)
  );
};
const from = point(values.from, 'from');
const to = point(values.to, 'to');
const filter: AuditFilter = {
  ...(from ? { from } : {}),
  ...(to ? { to } : {}),
  ...(values['business-unit'] !== undefined ? { businessUnitId: values['business-unit'] } : {}),
  ...(values.agent !== undefined ? { agentId: values.agent } : {}),
  ...(values.contact !== undefined ? { contactId: values.contact } : {}),
  ...(values.type !== undefined ? { type: values.type } : {}),
};

const config = loadToolConfiguration(process.env);

async function openLog(): Promise<{ log: LogPages; close: () => Promise<void> }> {
  if (config.eventStore !== 'sqlite') {
    const store = await sharedEventStore(config);
    return { log: pagesOf(store), close: () => store.close() };
  }
  const file = join(config.dataDir, 'events.db');
  if (!existsSync(file)) fail(`${file} does not exist (DATA_DIR=${config.dataDir})`);
  const pages = new SqliteLogPages(file, config.storeTimeoutMs);
  return { log: pages, close: async () => pages.close() };
}

function write(out: Writable, text: string): Promise<void> {
  return out.write(text)
    ? Promise.resolve()
    : new Promise((resolve, reject) => {
        out.once('drain', resolve);
        out.once('error', reject);
      });
}

const { log, close } = await openLog();
const out: Writable = values.out !== undefined ? createWriteStream(values.out) : process.stdout;
const bar = process.stderr.isTTY
  ? new SingleBar({
      format: 'audit:export [{bar}] {percentage}% | position {value}/{total} | {lines} lines',
      stream: process.stderr,
    })
  : undefined;
try {
  const end = await exportEnd(log, filter);
  bar?.start(Number(end), 0, { lines: 0 });
  let chunk = '';
  let lines = 0;
  for await (const line of auditLines(log, filter, end, ({ position, lines: count }) =>
    bar?.update(Number(position), { lines: count }),
  )) {
    chunk += `${line}\n`;
    lines++;
    if (chunk.length >= 64 * 1024) {
      await write(out, chunk);
      chunk = '';
    }
  }
  await write(out, chunk);
  bar?.update(Number(end), { lines });
  bar?.stop();
  if (values.out !== undefined) {
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    process.stderr.write(`audit:export: ${lines} lines up to position ${end} written to ${values.out}\n`);
  }
} finally {
  bar?.stop();
  await close();
}
