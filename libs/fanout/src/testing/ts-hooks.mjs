// Node module hooks so a plain `node` child process can run this repo's TypeScript sources (Node 20 has no
// type stripping): `./x.js` imported from a .ts file resolves to `./x.ts`, and .ts is compiled by SWC on load.
// Test support only (the crash test runs a forwarder in a child it can SIGKILL); not part of the build.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import swc from '@swc/core';

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
  }
  // package.json "imports" (#runtime, #event-store…) to the .ts sources too, so no class is loaded twice.
  if (specifier.startsWith('#'))
    return nextResolve(specifier, { ...context, conditions: ['source', ...context.conditions] });
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const { code } = await swc.transform(await readFile(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
