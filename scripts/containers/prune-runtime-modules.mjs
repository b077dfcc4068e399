#!/usr/bin/env node
// The image's build stage runs this after `npm prune --omit=dev`: it deletes from the production node_modules
// what the service never reads at runtime, so the runtime stage copies only what it runs (docs/containers.md).
//   node scripts/containers/prune-runtime-modules.mjs [node_modules]
// What goes, and why it is never read:
//   - better-sqlite3's build leftovers: the SQLite amalgamation (deps/), the C++ sources (src/), node-gyp's
//     makefiles, object files, the static library and the test extension. At runtime lib/ loads
//     build/Release/better_sqlite3.node only; package.json, lib/, that addon and the licence stay.
//   - typescript: npm keeps it because @nestjs/swagger names it as an optional peer, for its compile-time plugin
//     (@nestjs/swagger/plugin), which the service never loads.
//   - swagger-ui-dist's bundles the /docs page does not load: the page loads swagger-ui-bundle.js,
//     swagger-ui-standalone-preset.js and swagger-ui.css (and the package's index.js requires the first two);
//     the ES-module bundles and the unbundled swagger-ui.js are for bundlers.
//   - in every package: source maps (*.map; the service does not run with --enable-source-maps), type
//     declarations and TypeScript sources (*.d.ts, *.ts, *.mts, *.cts; Node does not strip types under
//     node_modules, so none can be loaded), and Markdown documents (*.md). Licence files stay.
//   - links in node_modules/.bin left pointing at nothing.
// It fails (exit 1) when better-sqlite3's addon is not where lib/ looks for it, rather than ship an image without it.
// Prints what it removed and the bytes it freed. Node built-ins only.
import { existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/** better-sqlite3's runtime files, relative to its package folder. */
export const BETTER_SQLITE3_KEEP = ['package.json', 'LICENSE', 'lib', 'build/Release/better_sqlite3.node'];
/** Whole packages no runtime code path loads. */
export const UNUSED_PACKAGES = ['typescript'];
/** swagger-ui-dist files the /docs page never requests and no runtime code requires. */
export const SWAGGER_UI_UNUSED = [
  /^swagger-ui-es-bundle(-core)?\.js(\.LICENSE\.txt)?$/,
  /^swagger-ui\.js(\.LICENSE\.txt)?$/,
];
/** Files no package reads at runtime, by name, in every package. */
export const UNUSED_FILES = [/\.map$/, /\.d\.[mc]?ts$/, /\.[mc]?ts$/, /\.md$/i, /\.markdown$/i];

/** Bytes of a file or of everything under a folder (links count as nothing). */
function sizeOf(path) {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.isFile() ? stat.size : 0;
  return readdirSync(path).reduce((total, name) => total + sizeOf(join(path, name)), 0);
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield { path, entry };
  }
}

export function pruneRuntimeModules(modules) {
  const freed = new Map();
  const remove = (what, path) => {
    freed.set(what, (freed.get(what) ?? 0) + sizeOf(path));
    rmSync(path, { recursive: true, force: true });
  };

  const sqlite = join(modules, 'better-sqlite3');
  const addon = join(sqlite, 'build/Release/better_sqlite3.node');
  if (!existsSync(addon)) throw new Error(`${addon} is missing: better-sqlite3 was not built, nothing was pruned`);
  const keep = new Set(BETTER_SQLITE3_KEEP.map((path) => join(sqlite, path)));
  const pruneBelow = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (keep.has(path)) continue;
      if ([...keep].some((kept) => kept.startsWith(path + sep))) pruneBelow(path);
      else remove('better-sqlite3 build leftovers', path);
    }
  };
  pruneBelow(sqlite);

  for (const name of UNUSED_PACKAGES)
    if (existsSync(join(modules, name))) remove(`package ${name}`, join(modules, name));

  const swaggerUi = join(modules, 'swagger-ui-dist');
  if (existsSync(swaggerUi)) {
    for (const name of readdirSync(swaggerUi))
      if (SWAGGER_UI_UNUSED.some((p) => p.test(name)))
        remove('swagger-ui-dist bundles /docs does not load', join(swaggerUi, name));
  }

  for (const { path, entry } of walk(modules)) {
    if (entry.isFile() && UNUSED_FILES.some((p) => p.test(entry.name)))
      remove('source maps, type declarations, TypeScript sources, Markdown', path);
  }

  const bin = join(modules, '.bin');
  if (existsSync(bin)) {
    for (const name of readdirSync(bin)) {
      const path = join(bin, name);
      if (!existsSync(path)) remove('dangling .bin links', path); // existsSync follows the link
    }
  }
  if (statSync(addon).size === 0) throw new Error(`${addon} is empty`);
  return freed;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const modules = process.argv[2] ?? 'node_modules';
  try {
    const freed = pruneRuntimeModules(modules);
    const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
    for (const [what, bytes] of freed) console.log(`prune-runtime-modules: ${what}: ${mb(bytes)}`);
    console.log(
      `prune-runtime-modules: ${relative(process.cwd(), modules) || modules}: ${mb([...freed.values()].reduce((a, b) => a + b, 0))} freed`,
    );
  } catch (error) {
    console.error(`prune-runtime-modules: ${error.message}`);
    process.exitCode = 1;
  }
}
