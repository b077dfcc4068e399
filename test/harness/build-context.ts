/**
 * The Docker build context without Docker: every file of the folder (tracked or not, as `docker build` sends
 * them) minus what `.dockerignore` excludes, read by @balena/dockerignore, a port of Docker's own matcher.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// A CommonJS module whose types declare an ES default export: require it to get the function itself.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as typeof import('@balena/dockerignore').default;

/** The context's files, as posix paths relative to `root`. */
export function buildContextFiles(root: string): string[] {
  const patterns = existsSync(join(root, '.dockerignore')) ? readFileSync(join(root, '.dockerignore'), 'utf8') : '';
  const ignored = ignore().add(patterns);
  // Like the builder, skip an excluded folder whole unless a `!` exception could bring part of it back.
  const hasExceptions = patterns.split(/\r?\n/).some((line) => line.trim().startsWith('!'));
  const files: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!ignored.ignores(path) || hasExceptions) walk(path);
      } else if (!ignored.ignores(path)) {
        files.push(path);
      }
    }
  };
  walk('');
  return files.sort();
}

/** Copies the context of `root` into `destination` (symbolic links stay links); returns the files copied. */
export function copyBuildContext(root: string, destination: string): string[] {
  const files = buildContextFiles(root);
  for (const file of files) {
    const source = join(root, file);
    const target = join(destination, file);
    mkdirSync(dirname(target), { recursive: true });
    if (lstatSync(source).isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else copyFileSync(source, target);
  }
  return files;
}
