#!/usr/bin/env node
/**
 * npm run test:api — the OpenAPI document is the contract (docs/design.md, HTTP): schemathesis (pinned, from PyPI, in a Python
 * venv) runs every check against the built service, on 127.0.0.1 with a temp DATA_DIR, including the stateful phase
 * that follows the document's links (PutSecurityProfile → PutAgent → SetSecurityUser → StartContact → EndContact).
 * Exits with schemathesis' status; the service and its data are removed whatever happens.
 *
 * SCHEMATHESIS_VENV (default .venv-schemathesis) holds the venv; API_MAX_EXAMPLES (default 30) and API_MAX_TIME
 * (seconds, default 150) bound the run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCHEMATHESIS_VERSION = '4.32.5';
const root = resolve(import.meta.dirname, '..');
const venv = resolve(root, process.env.SCHEMATHESIS_VENV ?? '.venv-schemathesis');
const st = join(venv, 'bin', 'st');
const maxExamples = process.env.API_MAX_EXAMPLES ?? '30';
const maxTime = process.env.API_MAX_TIME ?? '150';

function ensureSchemathesis() {
  const installed = existsSync(st)
    ? spawnSync(join(venv, 'bin', 'python'), ['-m', 'pip', 'show', 'schemathesis'], { encoding: 'utf8' }).stdout
    : '';
  if (installed.includes(`Version: ${SCHEMATHESIS_VERSION}`)) return;
  console.error(`== schemathesis ${SCHEMATHESIS_VERSION} into ${venv}`);
  const run = (command, args) => {
    const result = spawnSync(command, args, { stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status})`);
  };
  if (!existsSync(join(venv, 'bin', 'python'))) run('python3', ['-m', 'venv', venv]);
  run(join(venv, 'bin', 'python'), [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    `schemathesis==${SCHEMATHESIS_VERSION}`,
  ]);
}

const freePort = () =>
  new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });

async function healthy(url, child) {
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    try {
      await (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the service did not answer within 30 s');
}

/** An agent of business unit `acme` (the unit the document's links start contacts in) allowed to end and view. */
async function seedEnder(url, token) {
  const call = async (method, path, body) => {
    const answer = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!answer.ok) throw new Error(`${method} ${path} answered ${answer.status}: ${await answer.text()}`);
    return answer.json();
  };
  await call('PUT', '/v1/security-profiles/contract-ender', {
    name: 'Contract ender',
    permissions: ['Contacts.End', 'Contacts.View', 'Audit.Read'],
  });
  await call('PUT', '/v1/agents/contract-ender', {
    businessUnitId: 'acme',
    securityProfileId: 'contract-ender',
    active: true,
  });
  return (await call('POST', '/v1/security-users', { agentId: 'contract-ender' })).securityUser;
}

ensureSchemathesis();
const dataDir = mkdtempSync(join(tmpdir(), 'co-api-'));
const token = randomBytes(18).toString('base64url');
// With METRICS_TOKEN set, /metrics requires a credential, so the document's 401 for it is tested too.
const metricsToken = randomBytes(18).toString('base64url');
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const service = spawn(process.execPath, [join(root, 'dist/apps/orchestrator/src/main.js')], {
  env: {
    ...process.env,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    PLATFORM_TOKEN: token,
    METRICS_TOKEN: metricsToken,
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let status = 1;
try {
  await healthy(url, service);
  const securityUser = await seedEnder(url, token);
  const args = [
    '--config-file',
    join(root, 'scripts/schemathesis.toml'),
    'run',
    `${url}/docs-json`,
    '--checks',
    'all',
    '--max-examples',
    maxExamples,
    '--max-time',
    maxTime,
    '--workers',
    '1',
    '--request-timeout',
    '10',
    '--seed',
    process.env.API_SEED ?? '1',
    // A live event stream never ends, so it cannot be one request and its answer: test/read-side.e2e.spec.ts covers it.
    '--exclude-operation-id',
    'StreamContacts',
  ];
  console.error(`== st ${args.join(' ')}`);
  const run = spawn(st, args, {
    stdio: 'inherit',
    env: {
      ...process.env,
      NO_COLOR: '1',
      API_PLATFORM_TOKEN: token,
      API_SECURITY_USER: securityUser,
      API_METRICS_TOKEN: metricsToken,
    },
  });
  status = await new Promise((done) => run.once('exit', (code) => done(code ?? 1)));
} finally {
  service.kill('SIGTERM');
  await new Promise((done) => (service.exitCode !== null ? done() : service.once('exit', done)));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(status);
