/**
 * scripts/containers/prune-runtime-modules.mjs, which the image's build stage runs after `npm prune --omit=dev`,
 * on a small node_modules laid out like the real one: the leftovers go, what the service loads stays.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import { pruneRuntimeModules } from '../scripts/containers/prune-runtime-modules.mjs';

let scratch: string | undefined;
afterEach(() => scratch && rmSync(scratch, { recursive: true, force: true }));

function tree(files: string[]): string {
  scratch = mkdtempSync(join(tmpdir(), 'co-prune-'));
  const modules = join(scratch, 'node_modules');
  for (const file of files) {
    mkdirSync(dirname(join(modules, file)), { recursive: true });
    writeFileSync(join(modules, file), 'x');
  }
  return modules;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

const runtime = [
  'better-sqlite3/package.json',
  'better-sqlite3/LICENSE',
  'better-sqlite3/lib/index.js',
  'better-sqlite3/lib/methods/wrappers.js',
  'better-sqlite3/build/Release/better_sqlite3.node',
  'fastify/package.json',
  'fastify/fastify.js',
  'fastify/LICENSE',
  'swagger-ui-dist/package.json',
  'swagger-ui-dist/index.js',
  'swagger-ui-dist/absolute-path.js',
  'swagger-ui-dist/swagger-ui-bundle.js',
  'swagger-ui-dist/swagger-ui-standalone-preset.js',
  'swagger-ui-dist/swagger-ui.css',
  'swagger-ui-dist/favicon-32x32.png',
  '@nestjs/swagger/dist/index.js',
];
const leftovers = [
  'better-sqlite3/binding.gyp',
  'better-sqlite3/deps/sqlite3/sqlite3.c',
  'better-sqlite3/src/better_sqlite3.cpp',
  'better-sqlite3/build/Makefile',
  'better-sqlite3/build/Release/test_extension.node',
  'better-sqlite3/build/Release/sqlite3.a',
  'better-sqlite3/build/Release/obj/gen/sqlite3/sqlite3.c',
  'better-sqlite3/build/Release/obj.target/better_sqlite3/src/better_sqlite3.o',
  'typescript/package.json',
  'typescript/lib/typescript.js',
  'swagger-ui-dist/swagger-ui-es-bundle.js',
  'swagger-ui-dist/swagger-ui-es-bundle-core.js',
  'swagger-ui-dist/swagger-ui.js',
  'swagger-ui-dist/swagger-ui-bundle.js.map',
  'fastify/fastify.d.ts',
  'fastify/README.md',
  'fastify/docs/Guides/Getting-Started.md',
  '@nestjs/swagger/dist/index.d.ts',
  '@nestjs/swagger/dist/index.js.map',
  'es-toolkit/dist/index.d.mts',
  'rxjs/src/index.ts',
];

describe('prune-runtime-modules', () => {
  it('removes build leftovers, the TypeScript compiler, maps, declarations and docs, and keeps what runs', () => {
    const modules = tree([...runtime, ...leftovers]);
    mkdirSync(join(modules, '.bin'));
    symlinkSync('../typescript/bin/tsc', join(modules, '.bin', 'tsc'));
    symlinkSync('../fastify/fastify.js', join(modules, '.bin', 'kept'));
    const freed = pruneRuntimeModules(modules) as Map<string, number>;
    expect(filesUnder(modules)).toEqual([...runtime, '.bin/kept'].sort());
    expect(existsSync(join(modules, 'typescript'))).toBe(false);
    expect([...freed.values()].reduce((a, b) => a + b, 0)).toBe(leftovers.length);
  });

  it('refuses to prune a tree whose better-sqlite3 addon was not built', () => {
    const modules = tree([
      'better-sqlite3/package.json',
      'better-sqlite3/lib/index.js',
      'better-sqlite3/src/better_sqlite3.cpp',
    ]);
    expect(() => pruneRuntimeModules(modules)).toThrow(/better_sqlite3\.node is missing/);
    expect(existsSync(join(modules, 'better-sqlite3/src/better_sqlite3.cpp'))).toBe(true);
  });
});
