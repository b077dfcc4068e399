/**
 * Reads a Dockerfile the way the builder does (parser directives, comments, `\` continuations, global ARGs
 * substituted into FROM, named stages), so tests check and replay the file itself rather than a copy of it.
 */

export type Instruction = { keyword: string; args: string; line: number };
/** `from` has the ARGs substituted; `fromText` is the FROM as written. */
export type Stage = { index: number; name: string | undefined; from: string; fromText: string; instructions: Instruction[] };
export type Dockerfile = { globalArgs: Record<string, string>; stages: Stage[] };

/** Docker's variable forms: ${NAME}, ${NAME:-default}, ${NAME-default} and $NAME; unknown names become ''. */
export function substitute(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced?: string, colon?: string, fallback?: string, bare?: string) => {
    const value = vars[braced ?? bare!];
    if (fallback === undefined) return value ?? '';
    return (colon === ':' ? value === undefined || value === '' : value === undefined) ? fallback : value!;
  });
}

/** Splits the Dockerfile into logical instructions; an `escape` directive is refused rather than guessed. */
function instructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  let i = 0;
  // Parser directives: `# key=value` lines at the very top.
  for (; i < lines.length; i++) {
    const directive = /^#\s*([a-z]+)\s*=\s*(.*)$/i.exec(lines[i]!);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape') throw new Error('Dockerfile `escape` directive: this reader knows only the default `\\`');
  }
  const result: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  for (; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    // Comment and empty lines are dropped even inside a continuation, as the builder does.
    if (trimmed.startsWith('#') || trimmed === '') continue;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    pending = pending ? { text: `${pending.text}${body}`, line: pending.line } : { text: body, line: i + 1 };
    if (continued) continue;
    const match = /^\s*(\S+)\s*(.*)$/s.exec(pending.text);
    if (match) result.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: pending.line });
    pending = undefined;
  }
  if (pending) throw new Error(`Dockerfile ends inside a continuation started on line ${pending.line}`);
  return result;
}

/** `ARG NAME=value` or `ARG NAME` as [name, default]. */
export function argDefault(args: string): [string, string | undefined] {
  const eq = args.indexOf('=');
  return eq < 0 ? [args.trim(), undefined] : [args.slice(0, eq).trim(), args.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')];
}

/** `buildArgs` plays `docker build --build-arg`: it overrides the defaults of the ARGs declared before FROM. */
export function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new Error(`line ${instruction.line}: FROM ${instruction.args} is not understood`);
      stages.push({ index: stages.length, name: from[2]?.toLowerCase(), from: substitute(from[1]!, globalArgs), fromText: from[1]!, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: only ARG may come before the first FROM`);
      const [name, value] = argDefault(instruction.args);
      const given = buildArgs[name] ?? value;
      if (given !== undefined) globalArgs[name] = given;
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

export function stage(dockerfile: Dockerfile, name: string): Stage {
  const found = dockerfile.stages.find((s) => s.name === name.toLowerCase());
  if (!found) throw new Error(`the Dockerfile has no stage named ${name}`);
  return found;
}

/** The stages a stage is built on, base first, ending with the stage itself (FROM naming an earlier stage). */
export function lineage(dockerfile: Dockerfile, target: Stage): Stage[] {
  const chain = [target];
  for (let current = target; ; ) {
    const parent = dockerfile.stages.find((s) => s.index < current.index && s.name === current.from.toLowerCase());
    if (!parent) return chain;
    chain.unshift(parent);
    current = parent;
  }
}

/** The JSON (exec) form of RUN/CMD/HEALTHCHECK CMD, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Words of an instruction, double- or single-quoted words kept whole (ENV, COPY, VOLUME). */
export function words(args: string): string[] {
  return [...args.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** `ENV A=1 B="two words"` (or the legacy `ENV A value`) as a mapping. */
export function envAssignments(args: string): Record<string, string> {
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(args);
  if (legacy) return { [legacy[1]!]: legacy[2]!.trim() };
  return Object.fromEntries(
    [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)].map((m) => [m[1]!, m[2]!.replace(/^(["'])(.*)\1$/s, '$2')]),
  );
}

export type Copy = { from: string | undefined; sources: string[]; destination: string; flags: Record<string, string> };

/** `COPY [--from=stage] [--chown=...] src... dest`, in either the shell or the JSON form. */
export function copyArguments(args: string): Copy {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (let flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); flag; flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags[flag[1]!] = flag[2] ?? 'true';
    rest = rest.slice(flag[0].length);
  }
  const paths = execForm(rest) ?? words(rest);
  if (paths.length < 2) throw new Error(`COPY ${args}: needs a source and a destination`);
  return { from: flags.from, sources: paths.slice(0, -1), destination: paths.at(-1)!, flags };
}
