// ESLint (flat config), type-aware through typescript-eslint's project service: every .ts file is checked with the
// types of the tsconfig that includes it (tsconfig.json; apps/supervisor/tsconfig.json for the browser page).
// docs/decisions.md, "Lint and types", says which rules are on, which are off, and why.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';

const tsFiles = ['**/*.ts'];
const jsFiles = ['**/*.{js,mjs,cjs}'];
const specFiles = ['**/*.spec.ts', '**/testing/**', 'test/**', 'examples/**', 'vitest.config.ts'];

// Import boundaries (no-restricted-imports). A flat config's later block replaces a rule's options, so each area
// below gets one complete list, built from these pieces.
const relativeIntoLibs = {
  group: ['**/libs/*/src', '**/libs/*/src/**'],
  message:
    'Import a lib through its package.json alias (#contacts, #event-store, #projections, …), not a relative path into libs/*/src.',
};
const relativeOutOfSrc = {
  // From inside libs/*/src or apps/*/src, a relative path that names a `src` folder has left this lib or app.
  regex: '^\\.{1,2}/(?:[^/]+/)*src(?:/|$)',
  message:
    "A lib is imported through its #alias; a lib never imports an app, and apps don't import each other's internals.",
};
const intoApps = {
  group: ['**/apps/**'],
  message: 'A lib never imports an app.',
};
// bench/ and scripts/ use the libs through their aliases, and may reach into the service only for these modules
// (tools of the service: its configuration loader and the Kafka client configuration it gives (fanout:republish
// connects as the service does), the pieces the memory-bounds and audit-export tools measure or reuse, the
// benchmarks' validation schemas, the demo's bootstrap). Another one is a decision: add it here.
const appModulesForTools = [
  'apps/orchestrator/src/bootstrap.js',
  'apps/orchestrator/src/config/configuration.js',
  'apps/orchestrator/src/infrastructure/event-store.provider.js',
  'apps/orchestrator/src/kafka/kafka-client-config.js',
  'apps/orchestrator/src/audit/audit-events.js',
  'apps/orchestrator/src/audit/sqlite-log-pages.js',
  'apps/orchestrator/src/read-side/point-in-time.js',
  'apps/orchestrator/src/contacts/active-contacts.js',
  'apps/orchestrator/src/contacts/end-contact-batch.command.js',
  'apps/orchestrator/src/contacts/end-contact-batch.handler.js',
  'apps/orchestrator/src/contacts/remembered-batches.js',
  'apps/orchestrator/src/contacts/refusal-recorder.js',
  'apps/orchestrator/src/contacts/contacts.schemas.js',
  'apps/orchestrator/src/http/schemas.js',
  'apps/orchestrator/src/http/validation.js',
];
const appInternalsFromTools = {
  // Matched on the .js file (NodeNext imports name it), so that a negation can let one file through: a pattern that
  // matched its folder would shut it out (gitignore semantics).
  group: ['**/apps/**/*.js', ...appModulesForTools.map((path) => `!**/${path}`)],
  message: 'bench/ and scripts/ reach into apps/ only for the modules eslint.config.mjs lists (appModulesForTools).',
};
// apps/orchestrator/src/http is what the features' controllers share (schemas, validation, the credential guard, the
// OpenAPI document): it imports none of the features, so the dependency runs one way.
const featuresFromHttp = {
  regex: '^\\.\\./(?:admin|audit|contacts|directory|fanout|kafka|metrics|observability|read-side|supervisor)(?:/|$)',
  message: 'http/ is shared by the features and imports none of them: move what both need into http/.',
};
// The libraries make no span of their own: at most the API (docs/decisions.md, Tracing); the SDK is the service's.
const tracingSdk = {
  group: ['@opentelemetry/*', '!@opentelemetry/api'],
  message: 'Libraries use @opentelemetry/api at most: the SDK is loaded by the service (docs/decisions.md, Tracing).',
};
// The domain (libs/contacts, libs/security) decides; it imports no framework, store, broker or I/O.
const infrastructure = {
  group: [
    '@nestjs/*',
    'fastify',
    '@fastify/*',
    'better-sqlite3',
    'kafkajs',
    '@eventstore/*',
    'pino',
    'pino-*',
    'nestjs-pino',
    'rxjs',
    'rxjs/*',
    'prom-client',
    'helmet',
    'typebox',
    'ajv',
    'zod',
    '#runtime',
    '#event-store',
    '#event-store/*',
    '#subscription',
    '#projections',
    '#projections/*',
    '#fanout',
    '#testcontainers',
    '@opentelemetry/*',
  ],
  message: 'Domain code (libs/contacts, libs/security) imports no framework, store, broker or I/O module.',
};
// libs/security signs and verifies (node:crypto, jose) but does no I/O.
const nodeIo = {
  group: [
    'node:fs',
    'node:fs/*',
    'fs',
    'fs/*',
    'node:net',
    'node:http',
    'node:https',
    'node:child_process',
    'node:worker_threads',
    'node:dgram',
    'node:tls',
  ],
  message: 'Domain code (libs/security) does no I/O.',
};
// libs/contacts is pure: no Node module at all.
const nodeModules = { group: ['node:*', 'fs', 'fs/*'], message: 'libs/contacts is pure domain code: no Node module.' };

const restrict = (...patterns) => ['error', { patterns }];
const unusedVars = {
  argsIgnorePattern: '^_',
  varsIgnorePattern: '^_',
  caughtErrorsIgnorePattern: '^_',
  destructuredArrayIgnorePattern: '^_',
  ignoreRestSiblings: true,
};

export default defineConfig(
  {
    ignores: [
      'dist/',
      'coverage/',
      'data/',
      '.ci/work/',
      '.kafka/',
      '.containers/',
      '.schemathesis/',
      '.venv-schemathesis/',
    ],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },

  // JavaScript (the .mjs tools, copy-static, the worker teardown): no type information.
  {
    files: jsFiles,
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
  },
  { files: jsFiles, rules: { 'no-unused-vars': ['error', unusedVars] } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },

  // TypeScript: the recommended type-checked set, plus the rules that catch this code base's real defects.
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: tsFiles })),
  {
    files: tsFiles,
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/resolver-next': [
        // package.json "imports" (#contacts, #event-store, …) resolve to the .ts through the "source" condition,
        // as in tsconfig.json's customConditions.
        createTypeScriptImportResolver({
          project: './tsconfig.json',
          conditionNames: ['source', 'types', 'import', 'node', 'default'],
        }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // `_name` is the code base's way to drop a field or an argument on purpose.
      '@typescript-eslint/no-unused-vars': ['error', unusedVars],
      // An async function with no await is deliberate here: it turns a synchronous throw into a rejection and fits
      // the Promise-returning interfaces of fakes and kafkajs handlers. A forgotten await is no-floating-promises' job.
      '@typescript-eslint/require-await': 'off',
      // NestJS's Reflector and ExecutionContext.getHandler() speak `Function`.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // Passing on what a catch caught (unknown) is not rejecting with a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
    },
  },
  // Tests read JSON answers and fixtures as `any`/unknown on purpose and print them: the no-unsafe-* rules and
  // no-base-to-string would ask for casts that add no safety.
  {
    files: specFiles,
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  { files: ['apps/supervisor/**'], languageOptions: { globals: { ...globals.browser } } },

  // Import boundaries, one complete list per area.
  { files: ['apps/**/*.ts'], rules: { 'no-restricted-imports': restrict(relativeOutOfSrc) } },
  {
    files: ['apps/orchestrator/src/http/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(relativeOutOfSrc, featuresFromHttp) },
  },
  { files: ['libs/**/*.ts'], rules: { 'no-restricted-imports': restrict(relativeOutOfSrc, intoApps, tracingSdk) } },
  { files: ['test/**/*.ts', 'examples/**/*.ts'], rules: { 'no-restricted-imports': restrict(relativeIntoLibs) } },
  {
    files: ['bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(relativeIntoLibs, appInternalsFromTools) },
  },
  {
    files: ['libs/security/src/**/*.ts'],
    ignores: specFiles,
    rules: { 'no-restricted-imports': restrict(relativeOutOfSrc, intoApps, infrastructure, nodeIo) },
  },
  {
    files: ['libs/contacts/src/**/*.ts'],
    ignores: specFiles,
    rules: { 'no-restricted-imports': restrict(relativeOutOfSrc, intoApps, infrastructure, nodeModules) },
  },
  // Layout is Prettier's (.prettierrc.json); this turns off the ESLint rules that would disagree with it.
  prettier,
);
