/**
 * The guard rails bite: each lint rule the project relies on (eslint.config.mjs) and each stricter compiler option
 * (tsconfig.json) is shown a small planted violation and must report it. The snippets are linted as the text of
 * real files of the project, so that the per-folder rules and the type information apply; nothing is written. The
 * project service keeps a snippet as that file's text for the rest of the run: no snippet stands in for a file that
 * another one imports.
 *
 * The type-aware rules are shown files of the supervisor page (its own small tsconfig: a second, not twenty, to
 * load); the import rules, which need no types, are checked with the type-aware rules switched off, so that the
 * service's whole program is not loaded for them.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import ts from 'typescript';
import * as prettier from 'prettier';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let typed: ESLint;
let untyped: ESLint;

beforeAll(() => {
  const overrideConfigFile = join(ROOT, 'eslint.config.mjs');
  typed = new ESLint({ cwd: ROOT, overrideConfigFile });
  untyped = new ESLint({
    cwd: ROOT,
    overrideConfigFile,
    overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }],
  });
});

type Message = { rule: string | null; message: string };

/** The rule IDs (and their messages) ESLint reports for `code` standing in for the project file `file`. */
async function lintWith(eslint: ESLint, file: string, code: string): Promise<Message[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return result!.messages.map((m) => ({ rule: m.ruleId, message: m.message }));
}
const lintTyped = (file: string, code: string): Promise<Message[]> => lintWith(typed, file, code);
const lint = (file: string, code: string): Promise<Message[]> => lintWith(untyped, file, code);

const rulesOf = (messages: Array<{ rule: string | null }>): Array<string | null> => messages.map((m) => m.rule);

describe('lint rules (eslint.config.mjs)', () => {
  it('no-floating-promises: a promise neither awaited nor voided', async () => {
    const messages = await lintTyped(
      'apps/supervisor/src/api.ts',
      'export async function later(): Promise<void> {}\nexport function now(): void {\n  later();\n}\n',
    );
    expect(rulesOf(messages)).toEqual(['@typescript-eslint/no-floating-promises']);
  });

  it('no-misused-promises: a promise used as a condition', async () => {
    const messages = await lintTyped(
      'apps/supervisor/src/api.ts',
      'export async function ready(): Promise<boolean> {\n  return true;\n}\nexport const state = (): string => (ready() ? "ready" : "not ready");\n',
    );
    expect(rulesOf(messages)).toEqual(['@typescript-eslint/no-misused-promises']);
  });

  it('switch-exhaustiveness-check: a switch over Branch that forgets branches', async () => {
    const code =
      "import type { Branch } from './branches.js';\nexport function rank(branch: Branch): number {\n  switch (branch) {\n    case 'OnSuccess':\n      return 1;\n  }\n  return 0;\n}\n";
    const messages = await lintTyped('apps/supervisor/src/main.ts', code);
    expect(rulesOf(messages)).toEqual(['@typescript-eslint/switch-exhaustiveness-check']);
  });

  it('aliases: bench/ reaches a lib through its #alias, never ../libs/*/src', async () => {
    const messages = await lint(
      'bench/store.ts',
      "import { SqliteEventStore } from '../libs/event-store/src/index.js';\nexport const store = SqliteEventStore;\n",
    );
    expect(messages).toEqual([{ rule: 'no-restricted-imports', message: expect.stringContaining('alias') }]);
    expect(
      await lint(
        'bench/store.ts',
        "import { SqliteEventStore } from '#event-store';\nexport const store = SqliteEventStore;\n",
      ),
    ).toEqual([]);
  });

  it("aliases: scripts/ reach into the app only for the listed modules; an app never into a lib's src", async () => {
    const unlisted = await lint(
      'scripts/demo.ts',
      "import { ErrorsFilter } from '../apps/orchestrator/src/http/errors.filter.js';\nexport const filter = ErrorsFilter;\n",
    );
    expect(rulesOf(unlisted)).toEqual(['no-restricted-imports']);
    const listed = await lint(
      'scripts/demo.ts',
      "import { loadToolConfiguration } from '../apps/orchestrator/src/config/configuration.js';\nexport const load = loadToolConfiguration;\n",
    );
    expect(listed).toEqual([]);
    const appIntoLib = await lint(
      'apps/orchestrator/src/http/openapi.ts',
      "import { BRANCHES } from '../../../../libs/contacts/src/index.js';\nexport const branches = BRANCHES;\n",
    );
    expect(rulesOf(appIntoLib)).toEqual(['no-restricted-imports']);
  });

  it('http/ imports no feature of the service (the features import http/); config and infrastructure it may', async () => {
    const intoFeature = await lint(
      'apps/orchestrator/src/http/request.guard.ts',
      "import { Credentials } from '../directory/credentials.js';\nexport const used = Credentials;\n",
    );
    expect(intoFeature).toEqual([{ rule: 'no-restricted-imports', message: expect.stringContaining('http/') }]);
    expect(
      await lint(
        'apps/orchestrator/src/http/limits.ts',
        "import { loadConfiguration } from '../config/configuration.js';\nexport const used = loadConfiguration;\n",
      ),
    ).toEqual([]);
    // A feature imports http/.
    expect(
      await lint(
        'apps/orchestrator/src/directory/credentials.ts',
        "import { bearerToken } from '../http/auth.js';\nexport const used = bearerToken;\n",
      ),
    ).toEqual([]);
  });

  it('no-cycle: media-type.ts importing contact.ts, which imports media-type.ts', async () => {
    const messages = await lint(
      'libs/contacts/src/media-type.ts',
      "import { BRANCHES } from './contact.js';\nexport const branches = BRANCHES;\n",
    );
    expect(rulesOf(messages)).toEqual(['import-x/no-cycle']);
  });

  it('domain: libs/contacts imports no framework and no Node module; libs/security no store (node:crypto is fine)', async () => {
    const contacts = await lint(
      'libs/contacts/src/contact.ts',
      "import { Injectable } from '@nestjs/common';\nimport { readFileSync } from 'node:fs';\nexport const used = [Injectable, readFileSync];\n",
    );
    expect(rulesOf(contacts)).toEqual(['no-restricted-imports', 'no-restricted-imports']);
    const security = await lint(
      'libs/security/src/directory.ts',
      "import Database from 'better-sqlite3';\nexport const used = Database;\n",
    );
    expect(rulesOf(security)).toEqual(['no-restricted-imports']);
    expect(
      await lint(
        'libs/security/src/key-ring.ts',
        "import { randomBytes } from 'node:crypto';\nexport const used = randomBytes;\n",
      ),
    ).toEqual([]);
    // Specs of the domain may use what they like.
    expect(
      await lint(
        'libs/contacts/src/contact.unit.spec.ts',
        "import { readFileSync } from 'node:fs';\nexport const used = readFileSync;\n",
      ),
    ).toEqual([]);
  });
});

describe('compiler options (tsconfig.json)', () => {
  /** The errors tsc reports for `code` compiled alone with tsconfig.json's options. */
  function compile(code: string): string[] {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, 'tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
    );
    const options: ts.CompilerOptions = { ...parsed!.options, types: [], noEmit: true };
    const file = join(ROOT, 'libs/contacts/src/planted.ts');
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    host.readFile = (name) => (name === file ? code : readFile(name));
    host.fileExists = (
      (exists) => (name: string) =>
        name === file || exists(name)
    )(host.fileExists.bind(host));
    const program = ts.createProgram([file], options, host);
    return ts
      .getPreEmitDiagnostics(program)
      .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]}`);
  }

  it('noUncheckedIndexedAccess: an indexed element may be undefined', () => {
    expect(compile('export const first = (values: readonly number[]): number => values[0];\n')).toEqual([
      expect.stringMatching(/^TS2322: Type 'number \| undefined' is not assignable to type 'number'/),
    ]);
  });

  it('exactOptionalPropertyTypes: an optional property is absent, not undefined', () => {
    expect(compile('export const note: { text?: string } = { text: undefined };\n')).toEqual([
      expect.stringMatching(/^TS2375: .*exactOptionalPropertyTypes/),
    ]);
  });

  it('noUnusedLocals: a local never read', () => {
    expect(compile('export function two(): number {\n  const unused = 1;\n  return 2;\n}\n')).toEqual([
      "TS6133: 'unused' is declared but its value is never read.",
    ]);
  });
});

describe('layout (.prettierrc.json)', () => {
  // Prettier's own API with the project's options resolved for a real path: what `npm run format:check` does.
  const check = async (file: string, code: string): Promise<boolean> => {
    const path = join(ROOT, file);
    const options = await prettier.resolveConfig(path, { editorconfig: true });
    return prettier.check(code, { ...options, filepath: path });
  };

  it('double quotes and a line past 120 characters are not the layout', async () => {
    const laidOut = "export const media = ['Voice', 'Chat'];\n";
    expect(await check('libs/contacts/src/planted.ts', laidOut)).toBe(true);
    expect(await check('libs/contacts/src/planted.ts', 'export const media = ["Voice", "Chat"];\n')).toBe(false);
    const long = `export const names = [${Array.from({ length: 12 }, (_, i) => `'name-number-${i}'`).join(', ')}];\n`;
    expect(long.length).toBeGreaterThan(120);
    expect(await check('libs/contacts/src/planted.ts', long)).toBe(false);
  });
});
