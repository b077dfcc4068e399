import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// The "source" condition of package.json "imports" (#contacts, #event-store…): tests load the .ts, the service dist/.
const conditions = ['source', 'node', 'import', 'default'];
// Vitest hands the SSR conditions to its workers as node --conditions, which a require() obeys too: with 'import'
// among them a CommonJS package requiring a dual one (pg requiring pg-pool) would get its ES module. Vite adds
// 'import' itself where an import resolves.
const ssrConditions = conditions.filter((c) => c !== 'import');

// SWC compiles the TypeScript so that NestJS gets its decorator metadata (esbuild would drop it).
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: ssrConditions } },
  plugins: [swc.vite({ jsc: { target: 'es2022', transform: { legacyDecorator: true, decoratorMetadata: true } } })],
  test: {
    reporters: ['default'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['libs/**/*.unit.spec.ts', 'apps/**/*.unit.spec.ts', 'test/**/*.unit.spec.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'libs/**/*.int.spec.ts',
            'apps/**/*.int.spec.ts',
            'test/**/*.int.spec.ts',
            'test/**/*.e2e.spec.ts',
            'examples/**/*.int.spec.ts',
          ],
          // Labels the run's containers, builds the image once, and removes what is left at the end.
          globalSetup: ['test/harness/global-setup.ts'],
          // Real servers and brokers: one file at a time keeps the 2-core machines honest.
          fileParallelism: false,
        },
      },
    ],
  },
});
