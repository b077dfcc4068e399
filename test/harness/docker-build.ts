/**
 * `docker build` for real, where a Docker engine answers: build the image, start it on a loopback port,
 * read /health, then remove the container, its anonymous volume and the image.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export type DockerBuildOutcome =
  | { kind: 'no-engine'; reason: string }
  | { kind: 'built'; user: string; health: { status: number; body: string }; logs: string };

const docker = async (args: string[], timeout = 60_000): Promise<string> =>
  (await execFileAsync('docker', args, { timeout, maxBuffer: 64 << 20 })).stdout.trim();

async function health(url: string, deadline: number): Promise<{ status: number; body: string }> {
  let last: { status: number; body: string } = { status: 0, body: 'no answer' };
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      last = { status: response.status, body: await response.text() };
      if (response.ok) return last;
    } catch (error) {
      last = { status: 0, body: (error as Error).message };
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return last;
}

export async function dockerBuild(contextDir: string, timeoutMs: number): Promise<DockerBuildOutcome> {
  try {
    // The docker CLI may be installed without an engine (as on the build machines): ask the engine itself.
    await docker(['version', '--format', '{{.Server.Version}}'], 15_000);
  } catch (error) {
    const message = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return { kind: 'no-engine', reason: `no Docker engine answers \`docker version\`: ${message.split('\n')[0]}` };
  }
  const tag = `contact-orchestrator:image-test-${process.pid}`;
  try {
    await docker(['build', '--tag', tag, contextDir], timeoutMs);
    const user = await docker(['image', 'inspect', '--format', '{{.Config.User}}', tag]);
    const container = await docker(['run', '--detach', '--publish', '127.0.0.1::3000', tag]);
    try {
      const published = await docker(['port', container, '3000/tcp']);
      const address = published.split('\n').find((line) => line.startsWith('127.0.0.1:')) ?? published;
      const answer = await health(`http://${address}/health`, Date.now() + 90_000);
      return { kind: 'built', user, health: answer, logs: await docker(['logs', container]).catch(() => '') };
    } finally {
      await docker(['rm', '--force', '--volumes', container]).catch(() => undefined);
    }
  } finally {
    await docker(['image', 'rm', '--force', tag]).catch(() => undefined);
  }
}
