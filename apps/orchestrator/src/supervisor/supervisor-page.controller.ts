/**
 * GET / and /supervisor/*: the supervisor page (docs/design.md, Supervisor page), built by `npm run build` into dist/apps/supervisor and
 * held in memory from start. No credential is needed to load it: the page asks for one, and every API call it makes
 * is checked as any other. The Content-Security-Policy lets it load nothing from another host.
 */
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};
const POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

type Asset = { body: Buffer; type: string };

/** dist/apps/supervisor: beside the compiled service (dist/apps/orchestrator/src/supervisor → dist/apps/supervisor). */
function pageDirectory(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../../supervisor'), resolve(here, '../../../../dist/apps/supervisor')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

function loadAssets(): Map<string, Asset> {
  const dir = pageDirectory();
  const assets = new Map<string, Asset>();
  if (!dir) return assets;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return assets;
}

@ApiExcludeController()
@Controller()
export class SupervisorPageController {
  private readonly assets = loadAssets();

  @Get()
  page(@Res() reply: FastifyReply): void {
    this.send(reply, 'index.html');
  }

  @Get('supervisor/:file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply): void {
    this.send(reply, file);
  }

  private send(reply: FastifyReply, name: string): void {
    // Only the built files, looked up by exact name: no path is ever joined from the request.
    const asset = this.assets.get(name);
    if (!asset)
      throw new NotFoundException(
        name === 'index.html' ? 'The supervisor page is not built: run npm run build' : `No page asset ${name}`,
      );
    void reply
      .header('content-type', asset.type)
      .header('content-security-policy', POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(asset.body);
  }
}
