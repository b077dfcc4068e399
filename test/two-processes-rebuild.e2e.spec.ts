/**
 * Two service processes on one DATA_DIR (a rolling deploy always has two), both under a load of starts and ends,
 * online rebuilds started on either, one of them killed and started again: afterwards `npm run views:verify` finds
 * the shared views identical to a fresh replay of the log, and both processes answer the same state for every
 * contact, the one the log says.
 * docs/operations.md, "Two processes on one volume".
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { writeLog } from '../bench/rebuild.js';
import { OrchestratorClient } from './harness/client.js';
import { removeDataDir, startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';
import { caughtUp, logStates, settledHead, verifyViews, viewStates } from './harness/views.js';

/** Enough log that each build takes a while, so the peer commits between the catch-up and the swap. */
const EVENTS = 150_000;
const REBUILDS = 4;
const LOADERS = 16;
const BU = 'bu-rolling';
const platformToken = 'two-processes-rebuild-token';
let dataDir: string;
let processes: ServiceProcess[] = [];
let clients: OrchestratorClient[] = [];

type RebuildState = { state: string; position: string };

beforeAll(async () => {
  dataDir = tempDataDir('co-two-rebuild-');
  await writeLog(join(dataDir, 'events.db'), EVENTS);
  const env = { RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' };
  processes = [
    await startServiceProcess({ dataDir, platformToken, env }),
    await startServiceProcess({ dataDir, platformToken, env }),
  ];
  clients = processes.map((p) => new OrchestratorClient(p.url, platformToken));
  for (const client of clients) await settledHead(client);
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  if (dataDir) removeDataDir(dataDir);
});

it('online rebuilds on either process under load on both: views:verify says identical, both answer what the log says', async () => {
  const [a] = clients as [OrchestratorClient];
  const { ender } = await a.seedBusinessUnit(BU);
  const failures: string[] = [];
  let running = true;
  /** The processes taking load; a loader picks its next two from it on each round, so one can leave it. */
  let serving = [...clients];
  const rounds = new Array<number>(LOADERS).fill(0);
  // Each loader starts a contact through one process and ends every other one through the other.
  const loaders = Array.from({ length: LOADERS }, async (_, i) => {
    for (let n = 0; running; n++, rounds[i] = n) {
      const [starter, closer] = [serving[(i + n) % serving.length]!, serving[(i + n + 1) % serving.length]!];
      const id = await starter.startContact(BU, n % 2 ? 'Chat' : 'Phone');
      if (n % 2 === 0) {
        const answer = await closer.endContact(id, ender);
        if (answer.status !== 200)
          failures.push(`loader ${i}: end ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    }
  });

  const rebuilt: string[] = [];
  const rebuildOn = async (api: OrchestratorClient): Promise<void> => {
    const started = await api.request<RebuildState>('POST', '/v1/admin/views/rebuild');
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await vi.waitFor(
      async () => {
        const state = (await api.request<RebuildState>('GET', '/v1/admin/views/rebuild')).body;
        if (state.state !== 'done' && state.state !== 'failed')
          throw new Error(`rebuild on ${api.url} still ${JSON.stringify(state)}`);
        return state;
      },
      { timeout: 120_000, interval: 50 },
    );
    expect(done.state, JSON.stringify(done)).toBe('done');
    rebuilt.push(`${api.url} at ${done.position}`);
  };
  for (let round = 0; round < REBUILDS; round++) await rebuildOn(clients[round % 2]!);

  // A restart beside the loaded peer: the second process leaves the load (every loader has begun a new round
  // since), is killed, starts again on the same DATA_DIR, rejoins, and rebuilds once more.
  serving = [a];
  const before = [...rounds];
  await vi.waitFor(() => expect(rounds.every((r, i) => r >= before[i]! + 2)).toBe(true), {
    timeout: 30_000,
    interval: 20,
  });
  await processes[1]!.kill();
  processes[1] = await startServiceProcess({
    dataDir,
    platformToken,
    env: { RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' },
  });
  clients[1] = new OrchestratorClient(processes[1].url, platformToken);
  await caughtUp(clients[1], 60_000);
  serving = [...clients];
  await rebuildOn(clients[1]);
  running = false;
  await Promise.all(loaders);
  expect(failures.slice(0, 10)).toStrictEqual([]);

  for (const client of clients) await settledHead(client);
  const replay = await verifyViews(dataDir);
  console.log(
    `two processes, one restarted, ${rebuilt.length} online rebuilds (${rebuilt.join('; ')}): views:verify said ${replay.stdout.split('\n')[0]}`,
  );
  expect(replay.code, replay.stdout).toBe(0);
  expect(replay.stdout).toMatch(/^identical/);

  const expected = logStates(dataDir, BU);
  expect(Object.keys(expected).length).toBeGreaterThan(0);
  for (const client of clients) expect(await viewStates(client, BU)).toStrictEqual(expected);
}, 400_000);
