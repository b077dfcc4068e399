/** The README's "Use it in your own tests" example is the file CI runs, word for word. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

it('README shows examples/testcontainers.int.spec.ts as it is', () => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('## Use it in your own tests'));
  const block = /```ts\n([\s\S]*?)\n```/.exec(section)?.[1];
  expect(block, 'a ```ts block in the section').toBeDefined();
  expect(block).toBe(readFileSync(`${ROOT}/examples/testcontainers.int.spec.ts`, 'utf8').trimEnd());
});
