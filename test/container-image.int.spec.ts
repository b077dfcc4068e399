/**
 * The container image, built by `docker build` from this checkout (once per run, test/harness/containers.ts) and run
 * by testcontainers and the docker CLI: who it runs as, what it ships, /health and an EndContact, the /data volume
 * across `docker restart`, a graceful `docker stop`, the HEALTHCHECK, and a read-only root filesystem.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContactOrchestratorContainer, type StartedContactOrchestratorContainer } from '#testcontainers';
import { docker, dockerEngine, orchestratorImage, ROOT, runLabels } from './harness/containers.js';
import { runOrchestrator } from './harness/orchestrator-container.js';
import { OrchestratorClient } from './harness/client.js';
import { printSkip } from './harness/skip.js';
import { waitFor } from './harness/suites.js';

const SUITE = 'container image';
const MINUTE = 60_000;
const engine = await dockerEngine();
if (!engine.ok) printSkip(SUITE, engine.reason);

describe.skipIf(!engine.ok)(SUITE, () => {
  let image: string;
  let started: StartedContactOrchestratorContainer;
  let api: OrchestratorClient;
  let ender: string;
  const cliContainers: string[] = [];

  beforeAll(async () => {
    image = await orchestratorImage();
    started = await new ContactOrchestratorContainer(image).withLabels(runLabels()).start();
    api = new OrchestratorClient(started.baseUrl, started.platformToken);
    ender = (await api.seedBusinessUnit('bu-image')).ender;
  }, 35 * MINUTE);

  afterAll(async () => {
    await started?.stop();
    if (cliContainers.length > 0) await docker(['rm', '--force', '--volumes', ...cliContainers]).catch(() => undefined);
  });

  it('runs as the unprivileged node user, with package.json, node_modules and dist only in /app', async () => {
    const config = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config}}', image])) as {
      User: string;
      Cmd: string[];
      Healthcheck?: { Test: string[] };
      Env: string[];
      Volumes: Record<string, unknown>;
    };
    expect(config.User).toBe('node');
    expect(config.Cmd).toEqual(['node', 'dist/apps/orchestrator/src/main.js']);
    expect(config.Env).toContain('PORT=3000');
    expect(config.Healthcheck?.Test.join(' ')).toContain('http://127.0.0.1:3000/health');
    expect(Object.keys(config.Volumes)).toEqual(['/data']);
    const { output: uid } = await started.exec(['id', '-u']);
    expect(uid.trim()).not.toBe('0');
    const { output: app } = await started.exec(['ls', '-A', '/app']);
    expect(app.trim().split('\n').sort()).toEqual(['dist', 'node_modules', 'package.json']);
  });

  it('ships no package that only the dev dependencies need, and no test or bench code', async () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.dev === true)
      .map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(0);
    const script = `const fs=require('fs');const p=${JSON.stringify(devOnly)};console.log(JSON.stringify(p.filter((x)=>fs.existsSync('/app/'+x))))`;
    const { output, exitCode } = await started.exec(['node', '-e', script]);
    expect(exitCode, output).toBe(0);
    expect(JSON.parse(output.trim())).toEqual([]);
    const { output: dist } = await started.exec(['ls', '/app/dist']);
    expect(
      dist
        .trim()
        .split('\n')
        .filter((name) => name === 'test' || name === 'bench'),
    ).toEqual([]);
  });

  it('answers /health and serves the supervisor page', async () => {
    const anonymous = await fetch(`${started.baseUrl}/health`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ok' });
    const health = await api.request<{ info?: { eventStore?: { status?: string } } }>('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.info?.eventStore?.status).toBe('up');
    const page = await fetch(`${started.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/supervisor/main.js');
  });

  it(
    'ends a contact, and the end is still there after docker restart (the /data volume)',
    async () => {
      const contactId = await api.startContact('bu-image', 'Chat');
      const answer = await api.endContact(contactId, ender);
      expect(answer.status).toBe(200);
      expect(answer.body.branch).toBe('OnSuccess');
      await started.restart({ timeout: 10_000 });
      const again = new OrchestratorClient(started.baseUrl, started.platformToken);
      expect((await again.request('GET', `/v1/contacts/${contactId}`)).body).toMatchObject({
        contactId,
        state: 'Ended',
      });
      api = again;
    },
    3 * MINUTE,
  );

  it(
    'turns healthy by its own HEALTHCHECK',
    async () => {
      const status = await waitFor(
        async () => {
          const value = await docker(['inspect', '--format', '{{.State.Health.Status}}', started.getId()]);
          return value === 'healthy' ? value : value === 'unhealthy' ? value : undefined;
        },
        2 * MINUTE,
        'the HEALTHCHECK to report healthy',
      );
      expect(status).toBe('healthy');
    },
    3 * MINUTE,
  );

  it(
    'docker stop drains the ends in flight within the grace period: exit 0, every 200 kept, every 503 unwritten',
    async () => {
      const container = await runOrchestrator(image);
      const id = container.id;
      cliContainers.push(id);
      const first = await container.healthy();
      const bu = await first.seedBusinessUnit('bu-drain');
      const contacts = await Promise.all(Array.from({ length: 200 }, () => first.startContact('bu-drain', 'Phone')));
      // The 200 ends are sent; the stop comes as the first answer arrives, while the others are being answered.
      let firstAnswer!: () => void;
      const answered = new Promise<void>((resolve) => (firstAnswer = resolve));
      const ends = contacts.map((contactId) =>
        first.endContact(contactId, bu.ender).then(
          (a) => (firstAnswer(), { contactId, status: a.status }),
          (e: Error) => ({ contactId, status: 0, error: e.message }),
        ),
      );
      await answered;
      const stopping = docker(['stop', '--time', '10', id], MINUTE);
      const answers = await Promise.all(ends);
      await stopping;
      expect(await docker(['inspect', '--format', '{{.State.ExitCode}}', id])).toBe('0');
      // An end answers 200 (kept), 503 once the shutdown began (nothing written), or finds the port closed.
      expect(answers.filter((a) => a.status !== 200 && a.status !== 503 && a.status !== 0)).toEqual([]);
      const ended = answers.filter((a) => a.status === 200);
      expect(ended.length).toBeGreaterThan(0);
      await docker(['start', id]);
      const second = await container.healthy();
      const state = async (contactId: string): Promise<string> =>
        (await second.request<{ state: string }>('GET', `/v1/contacts/${contactId}`)).body.state;
      expect(
        (await Promise.all(ended.map((a) => state(a.contactId)))).filter((s) => s !== 'Ended'),
        'answered 200, not kept',
      ).toEqual([]);
      const refused = answers.filter((a) => a.status === 503);
      expect(
        (await Promise.all(refused.map((a) => state(a.contactId)))).filter((s) => s !== 'Active'),
        'answered 503, yet written',
      ).toEqual([]);
    },
    4 * MINUTE,
  );

  it(
    'runs on a read-only root filesystem with /data and /tmp writable',
    async () => {
      const container = await runOrchestrator(image, { args: ['--read-only', '--tmpfs', '/tmp', '--volume', '/data'] });
      const id = container.id;
      cliContainers.push(id);
      const readOnly = await container.healthy();
      const bu = await readOnly.seedBusinessUnit('bu-read-only');
      const contactId = await readOnly.startContact('bu-read-only', 'Email');
      expect((await readOnly.endContact(contactId, bu.ender)).status).toBe(200);
      expect(await docker(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', id])).toBe('true');
    },
    3 * MINUTE,
  );
});
