/**
 * Starts a worker thread from a module beside the caller. Built code runs `dist/…/x.js`. When the caller runs from
 * its TypeScript source (Vitest, which does not reach into worker threads), the worker runs the built copy of the
 * same module: `npm test` builds first.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type TransferListItem, type WorkerOptions } from 'node:worker_threads';

/** Workers hold little: the SQLite page cache lives outside V8, so a small young generation keeps memory flat. */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 256 };

export function startWorker(
  callerUrl: string,
  basename: string,
  workerData: unknown,
  transferList: TransferListItem[] = [],
): Worker {
  const options = { workerData, transferList, resourceLimits: RESOURCE_LIMITS } as WorkerOptions;
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${basename}.js`, callerUrl), options);
  const source = dirname(fileURLToPath(callerUrl));
  let root = source;
  while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);
  const built = join(root, 'dist', relative(root, source), `${basename}.js`);
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (npm test does it)`);
  // Vitest runs with --conditions source (package.json "imports" to the .ts); the built copy must resolve dist/.
  return new Worker(pathToFileURL(built), { ...options, execArgv: withoutSourceCondition(process.execArgv) });
}

function withoutSourceCondition(argv: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === '--conditions' || argv[i] === '-C') && argv[i + 1] === 'source') i++;
    else if (argv[i] !== '--conditions=source') kept.push(argv[i]!);
  }
  return kept;
}
