// Postinstall: patches better-sqlite3 12 so that it cannot abort the process on Node 24+, then rebuilds it.
//
// From Node 24 on, node::ObjectWrap (a header-only class that better-sqlite3 12 builds into its addon) registers one
// environment cleanup hook per wrapped object and removes it in its destructor. When V8 collects a Statement while
// a worker thread is being torn down, no environment is current and Node aborts the whole process:
//   Assertion failed: (env) != nullptr ... node::RemoveEnvironmentCleanupHook ... Statement::~Statement()
// better-sqlite3 13 fixes it (node-addon-api) but requires Node 22+. The patch compiles the addon without the
// per-object hooks, which is how ObjectWrap behaves up to Node 22; the addon's own cleanup hook still closes every
// database when an environment ends. docs/decisions.md has the measurements.
//
// Idempotent: it edits the source once, and rebuilds only while the built addon still imports the hook removal.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const MARKER = 'contact-orchestrator patch: no per-object environment cleanup hooks';
const ANCHOR = '#include <node_object_wrap.h>\n';
const PATCH = `// ${MARKER} (scripts/native/patch-better-sqlite3.mjs)
#define AddEnvironmentCleanupHook(isolate, fun, arg) ((void)(fun), (void)(arg))
#define RemoveEnvironmentCleanupHook(isolate, fun, arg) ((void)(fun), (void)(arg))
#include <node_object_wrap.h>
#undef AddEnvironmentCleanupHook
#undef RemoveEnvironmentCleanupHook
`;
/** The mangled name of node::RemoveEnvironmentCleanupHook(v8::Isolate*, void (*)(void*), void*). */
export const HOOK_REMOVAL_SYMBOL = '_ZN4node28RemoveEnvironmentCleanupHookEPN2v87IsolateEPFvPvES3_';

export function packageDir() {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('better-sqlite3/package.json'));
}

export function addonPath(dir = packageDir()) {
  return join(dir, 'build', 'Release', 'better_sqlite3.node');
}

/** True while the built addon can still call node::RemoveEnvironmentCleanupHook (the call that aborts). */
export function addonImportsHookRemoval(dir = packageDir()) {
  const file = addonPath(dir);
  return existsSync(file) && readFileSync(file).includes(HOOK_REMOVAL_SYMBOL);
}

/** Applies the source edit once; returns true when it changed the file. Throws when the source is not the expected one. */
export function patchSource(dir = packageDir()) {
  const file = join(dir, 'src', 'better_sqlite3.cpp');
  const source = readFileSync(file, 'utf8');
  if (source.includes(MARKER)) return false;
  if (source.split(ANCHOR).length !== 2) {
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    throw new Error(
      `better-sqlite3 ${version}: ${file} does not include <node_object_wrap.h> once; ` +
        'scripts/native/patch-better-sqlite3.mjs was written for 12.x and must be reviewed',
    );
  }
  writeFileSync(file, source.replace(ANCHOR, PATCH));
  return true;
}

function rebuild(dir) {
  const gyp = process.env.npm_config_node_gyp;
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: dir, stdio: 'inherit' });
  // Incremental first (only the addon's own source recompiles), a full rebuild when that is not possible.
  if (gyp && existsSync(join(dir, 'build', 'Makefile'))) {
    try {
      run(process.execPath, [gyp, 'build', '--release']);
      return;
    } catch {
      console.error('better-sqlite3: incremental build failed; rebuilding it whole');
    }
  }
  run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build-release']);
}

function main() {
  const dir = packageDir();
  const changed = patchSource(dir);
  if (changed) console.error('better-sqlite3: source patched (no per-object environment cleanup hooks)');
  // Built against headers whose ObjectWrap has no such hooks (Node 20, 22), the addon is already what the patch makes.
  if (!addonImportsHookRemoval(dir)) return;
  console.error(`better-sqlite3: rebuilding the addon against Node ${process.version}`);
  rebuild(dir);
  if (addonImportsHookRemoval(dir))
    throw new Error(`better-sqlite3: ${addonPath(dir)} still imports ${HOOK_REMOVAL_SYMBOL}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
