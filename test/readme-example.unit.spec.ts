/** docs/testing.md's "Use it in your own tests" example is the file CI runs, word for word. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

it('docs/testing.md shows examples/testcontainers.int.spec.ts as it is', () => {
  const testing = readFileSync(`${ROOT}/docs/testing.md`, 'utf8');
  const section = testing.slice(testing.indexOf('## Use it in your own tests'));
  const block = /```ts\n([\s\S]*?)\n```/.exec(section)?.[1];
  expect(block, 'a ```ts block in the section').toBeDefined();
  expect(block).toBe(readFileSync(`${ROOT}/examples/testcontainers.int.spec.ts`, 'utf8').trimEnd());
});
