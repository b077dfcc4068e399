/**
 * A promise that rejects with nobody awaiting it (a library's background request timing out, as kafkajs does against
 * a paused broker) is logged, and the service keeps answering: it is not a reason to end the process.
 * The rejection is planted by test/harness/reject-unhandled-on-sigusr2.mjs. docs/operations.md.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { startServiceProcess, tempDataDir, type ServiceProcess } from './harness/service.js';
import { waitFor } from './harness/suites.js';

let running: ServiceProcess | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await running?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('an unhandled rejection is logged and the service keeps answering', async () => {
  dataDir = tempDataDir('co-unhandled-');
  const fault = pathToFileURL(join(import.meta.dirname, 'harness', 'reject-unhandled-on-sigusr2.mjs')).href;
  running = await startServiceProcess({ dataDir, nodeArgs: ['--import', fault] });
  const client = new OrchestratorClient(running.url, running.platformToken);
  const { ender } = await client.seedBusinessUnit('bu-unhandled');

  running.child.kill('SIGUSR2');
  await waitFor(
    () => running!.output().includes('planted: a background request timed out'),
    10_000,
    'the rejection in the log',
  );

  const line = running
    .output()
    .split('\n')
    .find((l) => l.includes('unhandled promise rejection'));
  expect(line).toContain('the service keeps running');
  expect(line).toContain('planted: a background request timed out');
  expect(running.child.exitCode).toBeNull();
  expect((await client.request('GET', '/health')).status).toBe(200);
  const contactId = await client.startContact('bu-unhandled', 'Chat');
  expect((await client.endContact(contactId, ender)).status).toBe(200);
  expect(running.child.exitCode).toBeNull();
});
