/**
 * Request validation in one place: each field is described once, which gives both the check (a 400 naming the
 * field, unknown fields refused, nothing written) and the JSON schema for OpenAPI.
 */
import { BadRequestException } from '@nestjs/common';

export type Field<T> = {
  schema: Record<string, unknown>;
  optional: boolean;
  parse(value: unknown, name: string): T;
};

export class InvalidInputError extends BadRequestException {
  constructor(readonly field: string, message: string) {
    super({ statusCode: 400, error: 'Bad Request', field, message: `${field} ${message}` });
  }
}

const fail = (name: string, message: string): never => {
  throw new InvalidInputError(name, message);
};

export const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function text(options: { pattern?: RegExp; patternHint?: string; maxLength?: number; minLength?: number } = {}): Field<string> {
  const maxLength = options.maxLength ?? 256;
  const minLength = options.minLength ?? 1;
  return {
    optional: false,
    schema: { type: 'string', minLength, maxLength, ...(options.pattern ? { pattern: options.pattern.source } : {}) },
    parse(value, name) {
      if (typeof value !== 'string') return fail(name, `must be a string, got ${describe(value)}`);
      if (value.length < minLength) return fail(name, minLength === 1 ? 'must not be empty' : `must be at least ${minLength} characters`);
      if (value.length > maxLength) return fail(name, `must be at most ${maxLength} characters`);
      if (options.pattern && !options.pattern.test(value)) return fail(name, `must be ${options.patternHint ?? `a string matching ${options.pattern.source}`}`);
      return value;
    },
  };
}

export const identifier = (): Field<string> => text({ maxLength: 128, pattern: IDENTIFIER, patternHint: 'letters, digits and . _ : - (1-128 characters, starting with a letter or digit)' });

export function oneOf<T extends string>(values: readonly T[]): Field<T> {
  return {
    optional: false,
    schema: { type: 'string', enum: [...values] },
    parse(value, name) {
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
        return fail(name, `must be one of ${values.join(', ')}, got ${describe(value)}`);
      }
      return value as T;
    },
  };
}

export function bool(): Field<boolean> {
  return {
    optional: false,
    schema: { type: 'boolean' },
    parse: (value, name) => (typeof value === 'boolean' ? value : fail(name, `must be a boolean, got ${describe(value)}`)),
  };
}

export function list<T>(item: Field<T>, options: { maxItems: number }): Field<T[]> {
  return {
    optional: false,
    schema: { type: 'array', items: item.schema, maxItems: options.maxItems },
    parse(value, name) {
      if (!Array.isArray(value)) return fail(name, `must be an array, got ${describe(value)}`);
      if (value.length > options.maxItems) return fail(name, `must have at most ${options.maxItems} items`);
      return value.map((v, i) => item.parse(v, `${name}[${i}]`));
    },
  };
}

export function dictionary(options: { maxEntries: number; maxValueLength: number }): Field<Record<string, string>> {
  return {
    optional: false,
    schema: { type: 'object', additionalProperties: { type: 'string', maxLength: options.maxValueLength }, maxProperties: options.maxEntries },
    parse(value, name) {
      if (!isPlainObject(value)) return fail(name, `must be an object of strings, got ${describe(value)}`);
      const entries = Object.entries(value);
      if (entries.length > options.maxEntries) return fail(name, `must have at most ${options.maxEntries} entries`);
      const result: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [key, v] of entries) {
        if (typeof v !== 'string') return fail(`${name}.${key}`, `must be a string, got ${describe(v)}`);
        if (v.length > options.maxValueLength) return fail(`${name}.${key}`, `must be at most ${options.maxValueLength} characters`);
        result[key] = v;
      }
      return result;
    },
  };
}

export const optional = <T>(field: Field<T>): Field<T | undefined> => ({ ...field, optional: true, parse: field.parse });

type Shape = Record<string, Field<unknown>>;
type Parsed<S extends Shape> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/** Parses a JSON body against its shape: unknown fields and wrong types are refused, naming the field. */
export function parseBody<S extends Shape>(shape: S, body: unknown, options: { allowMissingBody?: boolean } = {}): Parsed<S> {
  if (body === undefined || body === null) {
    if (options.allowMissingBody) body = {};
    else return fail('body', 'must be a JSON object');
  }
  if (!isPlainObject(body)) return fail('body', `must be a JSON object, got ${describe(body)}`);
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(shape, key)) return fail(key, `is not a known field (expected: ${Object.keys(shape).join(', ')})`);
  }
  const result: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const value = body[key];
    if (value === undefined) {
      if (!field.optional) return fail(key, 'is required');
      continue;
    }
    result[key] = field.parse(value, key);
  }
  return result as Parsed<S>;
}

export function parseParam<T>(field: Field<T>, value: unknown, name: string): T {
  return field.parse(value, name);
}

/** The JSON schema of a body shape, for @ApiBody. */
export function jsonSchema(shape: Shape): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.entries(shape).filter(([, f]) => !f.optional).map(([k]) => k),
    properties: Object.fromEntries(Object.entries(shape).map(([k, f]) => [k, f.schema])),
  };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
