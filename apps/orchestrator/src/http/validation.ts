/**
 * Request validation from the schemas of schemas.ts, compiled once by ajv (the validator Fastify itself uses).
 * `@Input({...})` on a route both documents each part in OpenAPI and has the global RequestGuard check it (with
 * checkInput), after the route's credential, so a request without its credential is 401 before any 400.
 * A refusal is a 400 naming the field (`permissions[1]`, `variables.x`, `Idempotency-Key`), and nothing is written.
 */
import { BadRequestException, SetMetadata, UnauthorizedException, applyDecorators } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { ApiBody, ApiHeader, ApiParam, ApiQuery } from '@nestjs/swagger';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from './auth.js';
import { openApiSchema, type Schema } from './schemas.js';

export class InvalidInputError extends BadRequestException {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super({ statusCode: 400, error: 'Bad Request', field, message: `${field} ${message}` });
  }
}

type Parts = {
  body?: Schema;
  /** false: the body may be left out (a JSON `null` is still refused). */
  bodyRequired?: boolean;
  params?: Schema;
  /** Documented, but checked by the domain rules (the end path's contact ID is a branch, not a 400). */
  documentedParams?: Schema;
  query?: Schema;
  headers?: Schema;
  /** Without its credential, a request is 401 whatever else is wrong with it (the end endpoint checks it later). */
  credentialFirst?: boolean;
};

type Compiled = { part: keyof typeof PART_NAMES; validate: ValidateFunction; optional: boolean }[];
const INPUT = Symbol('input');
const PART_NAMES = { params: 'path', query: 'query', headers: 'header', body: 'body' } as const;

// allErrors off: the first problem is the one named; `u` regexes as in JSON Schema; defaults never injected.
const ajv = new Ajv({ allErrors: false, strict: false, verbose: true, unicodeRegExp: true });

/** Canonical header names for messages and the document (Fastify lower-cases what it receives). */
const HEADER_NAMES: Record<string, string> = { 'idempotency-key': 'Idempotency-Key' };

/** The schema's description for the document, if it has one (an absent key, not `description: undefined`). */
function describedBy(schema: unknown): { description?: string } {
  const { description } = schema as { description?: string };
  return description === undefined ? {} : { description };
}

export function Input(parts: Parts): MethodDecorator {
  const compiled: Compiled = [];
  const decorators: MethodDecorator[] = [];
  for (const part of ['params', 'query', 'headers', 'body'] as const) {
    const schema = parts[part];
    if (schema)
      compiled.push({ part, optional: part === 'body' && parts.bodyRequired === false, validate: ajv.compile(schema) });
  }
  for (const [name, schema] of propertiesOf(parts.params ?? parts.documentedParams)) {
    decorators.push(ApiParam({ name, required: true, schema: openApiSchema(schema), ...describedBy(schema) }));
  }
  const query = parts.query as { required?: string[] } | undefined;
  for (const [name, schema] of propertiesOf(parts.query)) {
    decorators.push(
      ApiQuery({
        name,
        required: query?.required?.includes(name) ?? false,
        schema: openApiSchema(schema),
        ...describedBy(schema),
      }),
    );
  }
  for (const [name, schema] of propertiesOf(parts.headers)) {
    decorators.push(
      ApiHeader({
        name: HEADER_NAMES[name] ?? name,
        required: false,
        schema: openApiSchema(schema),
        ...describedBy(schema),
      }),
    );
  }
  if (parts.body)
    decorators.push(ApiBody({ schema: openApiSchema(parts.body), required: parts.bodyRequired !== false }));
  return applyDecorators(
    SetMetadata(INPUT, { compiled, credentialFirst: parts.credentialFirst === true }),
    ...decorators,
  );
}

type RouteInput = { compiled: Compiled; credentialFirst: boolean };

/** The route's `@Input` checks, if it has any. */
export const inputOf = (reflector: Reflector, handler: Function): RouteInput | undefined =>
  reflector.get<RouteInput | undefined>(INPUT, handler);

/** Checks each part of the request against its schema: throws an InvalidInputError naming the field (or a 401 first, see credentialFirst). */
export function checkInput(input: RouteInput, request: FastifyRequest): void {
  try {
    for (const { part, validate, optional } of input.compiled) {
      const value = part === 'body' ? request.body : request[part];
      if (optional && value === undefined) continue;
      if (!validate(value)) throw refusal(part, validate.errors ?? []);
    }
  } catch (error) {
    if (input.credentialFirst && error instanceof InvalidInputError && bearerToken(request) === undefined) {
      throw new UnauthorizedException('Authorization: Bearer <SecurityUser> is required');
    }
    throw error;
  }
}

const compiledOnce = new WeakMap<object, ValidateFunction>();

/** Checks a value against a schema outside HTTP (a Kafka command record): the value, or an InvalidInputError naming the field. */
export function validate<T>(schema: Schema, value: unknown): T {
  let check = compiledOnce.get(schema);
  if (!check) compiledOnce.set(schema, (check = ajv.compile(schema)));
  if (!check(value)) throw refusal('body', check.errors ?? []);
  return value as T;
}

function propertiesOf(schema: Schema | undefined): [string, Schema][] {
  const properties = (schema as { properties?: Record<string, Schema> } | undefined)?.properties;
  return properties ? Object.entries(properties) : [];
}

function refusal(part: keyof typeof PART_NAMES, errors: ErrorObject[]): InvalidInputError {
  const error = errors[0];
  if (!error) return new InvalidInputError(PART_NAMES[part], 'is not valid');
  const at = fieldOf(part, error.instancePath);
  const data: unknown = error.data;
  const parent = error.parentSchema as { description?: string } | undefined;
  switch (error.keyword) {
    case 'required':
      return new InvalidInputError(join(at, String(error.params['missingProperty'])), 'is required');
    case 'additionalProperties': {
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return new InvalidInputError(
        join(at, String(error.params['additionalProperty'])),
        `is not a known field (expected: ${known.join(', ')})`,
      );
    }
    case 'type':
      return new InvalidInputError(
        at,
        part === 'body' && at === 'body'
          ? `must be a JSON object, got ${describe(data)}`
          : `must be ${article(String(error.params['type']))}, got ${describe(data)}`,
      );
    case 'enum':
      return new InvalidInputError(
        at,
        `must be one of ${(error.params['allowedValues'] as unknown[]).join(', ')}, got ${describe(data)}`,
      );
    case 'minLength':
      return new InvalidInputError(
        at,
        error.params['limit'] === 1
          ? 'must not be empty'
          : `must be at least ${String(error.params['limit'])} characters`,
      );
    case 'maxLength':
      return new InvalidInputError(at, `must be at most ${String(error.params['limit'])} characters`);
    case 'pattern':
      return new InvalidInputError(
        at,
        `must be ${parent?.description ?? `a string matching ${String(error.params['pattern'])}`}, got ${describe(data)}`,
      );
    case 'maxItems':
      return new InvalidInputError(at, `must have at most ${String(error.params['limit'])} items`);
    case 'maxProperties':
      return new InvalidInputError(at, `must have at most ${String(error.params['limit'])} entries`);
    case 'false schema':
      return new InvalidInputError(at, 'is not allowed with the other fields given');
    default:
      return new InvalidInputError(at, error.message ?? 'is not valid');
  }
}

/** `/permissions/1` → `permissions[1]`, `/variables/x` → `variables.x`; the part's own name at its root. */
function fieldOf(part: keyof typeof PART_NAMES, instancePath: string): string {
  const segments = instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (segments.length === 0) return PART_NAMES[part];
  const [first, ...rest] = segments;
  let field = part === 'headers' ? (HEADER_NAMES[first!] ?? first!) : first!;
  for (const segment of rest) field += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  return field;
}

const join = (at: string, name: string): string =>
  at === 'body' || at === 'path' || at === 'query' || at === 'header' ? name : `${at}.${name}`;
const article = (type: string): string =>
  type === 'array' || type === 'object' || type === 'integer' ? `an ${type}` : `a ${type}`;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `${typeof value} ${String(value)}`;
  return typeof value;
}
