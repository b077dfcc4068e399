/**
 * The harness that replays the Dockerfile reads it as the builder does: continuations, comments inside them,
 * build arguments in FROM, COPY flags, both ENV forms; and makes the build context as `.dockerignore` says.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildContextFiles } from './build-context.js';
import { copyArguments, envAssignments, execForm, lineage, parseDockerfile, stage } from './dockerfile.js';

const SAMPLE = [
  '# syntax=docker/dockerfile:1',
  'ARG BASE=node:24-slim',
  'FROM ${BASE} AS tools',
  'RUN apt-get update \\',
  '# a comment inside a continuation is dropped',
  '',
  ' && apt-get install -y make',
  'FROM tools AS build',
  'ENV A=1 B="two words"',
  'COPY --chown=node:node a.json b.json ./',
  'FROM ${BASE} AS runtime',
  'ENV LEGACY some value',
  'COPY --from=build ["/app/dist", "./dist"]',
  'CMD ["node", "main.js"]',
].join('\n');

describe('parseDockerfile', () => {
  const file = parseDockerfile(SAMPLE);

  it('joins continuation lines, dropping comments and blank lines inside them', () => {
    const run = stage(file, 'tools').instructions[0]!;
    expect(run.keyword).toBe('RUN');
    expect(run.args.replace(/\s+/g, ' ')).toBe('apt-get update && apt-get install -y make');
    expect(run.line).toBe(4);
  });

  it('substitutes global build arguments into FROM, and --build-arg overrides them', () => {
    expect(file.stages.map((s) => s.from)).toEqual(['node:24-slim', 'tools', 'node:24-slim']);
    expect(parseDockerfile(SAMPLE, { BASE: 'node:26-slim' }).stages.map((s) => s.from)).toEqual(['node:26-slim', 'tools', 'node:26-slim']);
    expect(lineage(file, stage(file, 'build')).map((s) => s.name)).toEqual(['tools', 'build']);
    expect(lineage(file, stage(file, 'runtime')).map((s) => s.name)).toEqual(['runtime']);
  });

  it('reads COPY flags and both its forms, ENV in both forms, and exec-form CMD', () => {
    const [env, copy] = stage(file, 'build').instructions;
    expect(envAssignments(env!.args)).toEqual({ A: '1', B: 'two words' });
    expect(copyArguments(copy!.args)).toEqual({ from: undefined, sources: ['a.json', 'b.json'], destination: './', flags: { chown: 'node:node' } });
    const [legacy, fromBuild, cmd] = stage(file, 'runtime').instructions;
    expect(envAssignments(legacy!.args)).toEqual({ LEGACY: 'some value' });
    expect(copyArguments(fromBuild!.args)).toMatchObject({ from: 'build', sources: ['/app/dist'], destination: './dist' });
    expect(execForm(cmd!.args)).toEqual(['node', 'main.js']);
    expect(execForm('node main.js')).toBeUndefined();
  });

  it('refuses what it cannot read faithfully', () => {
    expect(() => parseDockerfile('# escape=`\nFROM node:24')).toThrow(/escape/);
    expect(() => parseDockerfile('RUN true\nFROM node:24')).toThrow(/before the first FROM/);
    expect(() => parseDockerfile('FROM node:24\nRUN a \\')).toThrow(/continuation/);
  });
});

describe('buildContextFiles', () => {
  const root = mkdtempSync(join(tmpdir(), 'co-context-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('leaves out what .dockerignore names, as Docker matches it', () => {
    const files = ['package.json', 'app.log', 'keep.log', 'test/a.ts', 'src/test/b.ts', 'src/main.ts', 'docs/x/y.md', 'docs/z.txt'];
    for (const file of files) {
      mkdirSync(join(root, dirname(file)), { recursive: true });
      writeFileSync(join(root, file), file);
    }
    // `test` matches at the root only; `*.log` in the root folder only; `!` brings a file back.
    writeFileSync(join(root, '.dockerignore'), '# comment\ntest\n*.log\n!keep.log\ndocs/**/*.md\n.dockerignore\n');
    expect(buildContextFiles(root)).toEqual(['docs/z.txt', 'keep.log', 'package.json', 'src/main.ts', 'src/test/b.ts']);
  });
});
