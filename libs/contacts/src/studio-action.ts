/**
 * The Studio action's own rules: `{variable}` references and the Default fallback for branches the calling
 * script did not define. Pure.
 */
import type { Branch } from './contact.js';

export const DEFAULT_SECURITY_USER_VARIABLE = 'SecurityUser';
const REFERENCE = /^\{([A-Za-z_][A-Za-z0-9_.]*)\}$/;

export type Resolution = { ok: true; value: string } | { ok: false; detail: string };

/**
 * Resolves an input that may be a `{name}` reference to the caller's script variables.
 * A literal is returned as is; a reference to an undefined variable is an error naming it.
 */
export function resolveInput(input: string, variables: Readonly<Record<string, string>>): Resolution {
  const match = REFERENCE.exec(input.trim());
  if (!match) return { ok: true, value: input };
  const name = match[1]!;
  // Own keys only: `{toString}` or `{constructor}` must not resolve to Object.prototype members.
  const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
  if (value === undefined) return { ok: false, detail: `variable {${name}} is not defined` };
  return { ok: true, value };
}

/** The branch the script takes: the condition that applied, or Default when the script does not define it. */
export function selectBranch(condition: Branch, definedBranches?: readonly string[]): Branch {
  if (definedBranches === undefined) return condition;
  return definedBranches.includes(condition) ? condition : 'Default';
}
