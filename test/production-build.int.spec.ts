/**
 * The production build (tsconfig.build.json, what `npm run build` and the image compile) holds apps, libs and
 * scripts only: no test/ or bench/ file, no spec, no testing helper, whether listed or pulled in by an import.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const execFileAsync = promisify(execFile);

/** The project's own files in the program tsc builds from `tsconfig.build.json` in `dir` (imports followed). */
async function productionProgram(dir: string): Promise<string[]> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [TSC, '-p', join(dir, 'tsconfig.build.json'), '--listFilesOnly'],
    { cwd: dir, maxBuffer: 64 << 20 },
  );
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((file) => relative(dir, file).split(sep).join('/'))
    .filter((file) => !file.startsWith('..') && !file.includes('node_modules/'));
}

const shipsNothingElse = (file: string): boolean =>
  !/^(test|bench)\//.test(file) &&
  !/\.spec\.ts$/.test(file) &&
  !/(^|\/)testing\//.test(file) &&
  /^(apps|libs|scripts)\//.test(file);

describe('the production build', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'co-build-program-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('compiles apps, libs and scripts, and nothing from test/ or bench/', async () => {
    const program = await productionProgram(ROOT);
    expect(program.some((file) => file === 'apps/orchestrator/src/main.ts')).toBe(true);
    expect(program.filter((file) => !shipsNothingElse(file))).toEqual([]);
  }, 60_000);

  it('would notice a production file that imports the test harness', async () => {
    // The same tsconfig files in a scratch project whose one source imports test/harness.
    for (const config of ['tsconfig.json', 'tsconfig.build.json'])
      copyFileSync(join(ROOT, config), join(scratch, config));
    symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'));
    mkdirSync(join(scratch, 'apps'), { recursive: true });
    mkdirSync(join(scratch, 'test', 'harness'), { recursive: true });
    writeFileSync(join(scratch, 'test', 'harness', 'skip.ts'), 'export const skipped = true;\n');
    writeFileSync(
      join(scratch, 'apps', 'main.ts'),
      "import { skipped } from '../test/harness/skip.js';\nexport const probe = skipped;\n",
    );
    const program = await productionProgram(scratch);
    expect(program).toContain('apps/main.ts');
    expect(program.filter((file) => !shipsNothingElse(file))).toEqual(['test/harness/skip.ts']);
  }, 60_000);
});
