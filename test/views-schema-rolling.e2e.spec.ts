/**
 * A rolling deploy that changes the views' shape: a process of the next views schema version starts on the DATA_DIR
 * of a running one, under load. Each builds and follows its own views (views.v<version>.db), so neither drops or
 * writes the other's tables: afterwards both answer what the log says for every contact, and each version's
 * `views:verify` finds its views identical to a fresh replay. docs/operations.md, "Two processes on one volume".
 *
 * The next version is this very build with its schema version raised by one, copied beside it (dist/ and
 * package.json, node_modules linked), as a new release would be.
 */
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VIEWS_SCHEMA_VERSION, viewsFileIn } from '#projections';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeLog } from '../bench/rebuild.js';
import { OrchestratorClient } from './harness/client.js';
import { ROOT, removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';
import { caughtUp, logStates, settledHead, verifyViews, viewStates } from './harness/views.js';

const EVENTS = 150_000;
const LOADERS = 8;
const BU = 'bu-schema';
const platformToken = 'views-schema-rolling-token';
let dataDir: string;
let nextBuild: string;
let current: ServiceProcess | undefined;
let next: ServiceProcess | undefined;

/** This build copied, its views schema version raised by one. */
function copyAsNextVersion(): string {
  const dir = mkdtempSync(join(tmpdir(), 'co-next-build-'));
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const projections = join(dir, 'dist/libs/projections/src');
  const declaring = readdirSync(projections).filter(
    (f) => f.endsWith('.js') && /VIEWS_SCHEMA_VERSION = \d+;/.test(readFileSync(join(projections, f), 'utf8')),
  );
  expect(declaring).toHaveLength(1);
  const file = join(projections, declaring[0]!);
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(
      /VIEWS_SCHEMA_VERSION = (\d+);/,
      (_, v: string) => `VIEWS_SCHEMA_VERSION = ${Number(v) + 1};`,
    ),
  );
  return dir;
}

beforeAll(async () => {
  dataDir = tempDataDir('co-schema-rolling-');
  nextBuild = copyAsNextVersion();
  await writeLog(join(dataDir, 'events.db'), EVENTS);
}, 120_000);

afterAll(async () => {
  await Promise.all([current?.stop(), next?.stop()]);
  if (dataDir) removeDataDir(dataDir);
  if (nextBuild) rmSync(nextBuild, { recursive: true, force: true });
});

it('a process of the next views schema version starts beside a running one under load: both views stay faithful', async () => {
  const env = { RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' };
  current = await startServiceProcess({ dataDir, platformToken, env });
  const a = new OrchestratorClient(current.url, platformToken);
  await settledHead(a);
  const { ender } = await a.seedBusinessUnit(BU);

  const failures: string[] = [];
  const clients: OrchestratorClient[] = [a];
  let running = true;
  const loaders = Array.from({ length: LOADERS }, async (_, i) => {
    for (let n = 0; running; n++) {
      const api = clients[(i + n) % clients.length]!;
      const id = await api.startContact(BU, n % 2 ? 'Chat' : 'Phone');
      if (n % 2 === 0) {
        const answer = await clients[(i + n + 1) % clients.length]!.endContact(id, ender);
        if (answer.status !== 200) failures.push(`end ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    }
  });

  // The next release starts while the current one takes the load, replays the log into its own views, then takes
  // its share of the load too.
  next = await startServiceProcess({
    dataDir,
    platformToken,
    env,
    main: join(nextBuild, 'dist/apps/orchestrator/src/main.js'),
    cwd: nextBuild,
  });
  const b = new OrchestratorClient(next.url, platformToken);
  await caughtUp(b, 60_000);
  clients.push(b);
  await caughtUp(a, 10_000);
  await caughtUp(b, 10_000);
  running = false;
  await Promise.all(loaders);
  expect(failures.slice(0, 10)).toStrictEqual([]);
  await settledHead(a);
  await settledHead(b);

  expect(existsSync(viewsFileIn(dataDir))).toBe(true);
  expect(existsSync(viewsFileIn(dataDir, VIEWS_SCHEMA_VERSION + 1))).toBe(true);
  const expected = logStates(dataDir, BU);
  expect(Object.keys(expected).length).toBeGreaterThan(0);
  expect(await viewStates(a, BU)).toStrictEqual(expected);
  expect(await viewStates(b, BU)).toStrictEqual(expected);
  for (const build of [ROOT, nextBuild]) {
    const replay = await verifyViews(dataDir, build);
    console.log(
      `views schema rolling deploy: views:verify of ${build === ROOT ? 'the current' : 'the next'} version said ${replay.stdout.split('\n')[0]}`,
    );
    expect(replay.code, replay.stdout).toBe(0);
    expect(replay.stdout).toMatch(/^identical/);
  }
  expect(next.output()).toContain(`kept ${'views.v' + VIEWS_SCHEMA_VERSION + '.db'}`);
}, 300_000);
