/**
 * EndContact over Kafka (docs/design.md, Kafka), the pure half: reading a `contact.commands` record strictly, and building the
 * records the consumer writes back — the result on `contact.command-results` (keyed by commandId, the Studio action
 * answer plus `commandId` and `contactId`) and, for a record that cannot be a command, its dead-letter copy.
 * No I/O here; command-consumer.ts does the sending.
 */
import { randomUUID } from 'node:crypto';
import type { EndContactResult } from '../contacts/end-contact.command.js';
import { studioBodyOf, type ActionError } from '../contacts/end-contact.http.js';
import Type from 'typebox';
import { Identifier } from '../http/schemas.js';
import { InvalidInputError, validate } from '../http/validation.js';

/** The command record's value: exactly these three fields, all strings. */
export const COMMAND_SHAPE = {
  commandId: Identifier(),
  contactId: Type.String({ minLength: 1, maxLength: 256 }),
  securityUser: Type.String({ minLength: 1, maxLength: 8192 }),
};
const COMMAND = Type.Object(COMMAND_SHAPE, { additionalProperties: false });

export const CORRELATION_ID_HEADER = 'correlation-id';
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  sourceTopic: 'dlq-source-topic',
  partition: 'dlq-partition',
  offset: 'dlq-offset',
  redacted: 'dlq-redacted',
} as const;

// A JWT (a SecurityUser or any other): base64url JSON header, payload, signature.
const JWT_TEXT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** Field and header names that carry a credential, compared without case, `-` or `_` (`SecurityUser`, `api-key`…). */
const CREDENTIAL_NAMES = new Set([
  'securityuser',
  'authorization',
  'token',
  'accesstoken',
  'platformtoken',
  'bearer',
  'password',
  'secret',
  'apikey',
]);
const isCredentialName = (name: string): boolean => CREDENTIAL_NAMES.has(name.toLowerCase().replace(/[-_]/g, ''));

/** `value` without credential fields at any depth and with JWT-shaped strings masked; what went, by path. */
function stripped(value: unknown, path: string, removed: string[]): unknown {
  if (typeof value === 'string') {
    const masked = value.replace(JWT_TEXT, '***');
    if (masked !== value) removed.push(path || 'value');
    return masked;
  }
  if (Array.isArray(value)) return value.map((item, i) => stripped(item, `${path}[${i}]`, removed));
  if (!isObject(value)) return value;
  const kept: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (isCredentialName(key)) removed.push(at);
    else kept[key] = stripped(item, at, removed);
  }
  return kept;
}

/**
 * The value a dead letter keeps: the original bytes without a credential. A JSON value loses every field named like
 * one (`securityUser`, `SecurityUser`, `authorization`…) at any depth, and any JWT-shaped string; any other text
 * loses whatever looks like a JWT. Bytes that are not UTF-8 are kept as they are (no credential can be read from them
 * as text). `removed` names what went (`securityUser`, `command.securityUser`; `securityUser` for masked text).
 */
export function withoutSecurityUser(value: Buffer | null): { value: Buffer | null; removed: string[] } {
  if (value === null) return { value, removed: [] };
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { value, removed: [] };
  }
  try {
    const json: unknown = JSON.parse(text);
    const removed: string[] = [];
    const kept = stripped(json, '', removed);
    return removed.length === 0 ? { value, removed } : { value: Buffer.from(JSON.stringify(kept)), removed };
  } catch {
    // Not JSON: the text itself is searched below.
  }
  const masked = text.replace(JWT_TEXT, '***');
  return masked === text ? { value, removed: [] } : { value: Buffer.from(masked), removed: ['securityUser'] };
}

/** Headers less those named like a credential, JWT-shaped values masked; what went as `header:<name>`. */
function headersWithoutCredentials(headers: RecordHeaders): { headers: RecordHeaders; removed: string[] } {
  const kept: RecordHeaders = {};
  const removed: string[] = [];
  const mask = (item: Buffer | string): Buffer | string => {
    const text = typeof item === 'string' ? item : item.toString('utf8');
    const masked = text.replace(JWT_TEXT, '***');
    return masked === text ? item : masked;
  };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (isCredentialName(name)) {
      removed.push(`header:${name}`);
      continue;
    }
    const masked = Array.isArray(value) ? value.map(mask) : mask(value);
    if (JSON.stringify(masked) !== JSON.stringify(value)) removed.push(`header:${name}`);
    kept[name] = masked;
  }
  return { headers: kept, removed };
}

/** Headers as kafkajs hands them over (a repeated header is an array) and accepts them back. */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** One consumed record, bytes untouched. */
export type IncomingRecord = {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
};

export type OutgoingRecord = {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: RecordHeaders;
};

export type EndContactMessage = { commandId: string; contactId: string; securityUser: string };

export type ParsedMessage =
  | { ok: true; command: EndContactMessage }
  /** What could still be read of a malformed record is kept, to key and describe its result. */
  | { ok: false; field: string; message: string; commandId?: string; contactId?: string };

export type ResultBody = {
  commandId: string | null;
  contactId: string | null;
  branch: string;
  condition: string;
  outputs: Record<string, string>;
  error?: ActionError;
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads a record value as an EndContact command: UTF-8 JSON object, no unknown fields, every field valid. */
export function parseCommandMessage(value: Buffer | null): ParsedMessage {
  if (value === null || value.length === 0)
    return {
      ok: false,
      field: 'value',
      message: 'value is empty: expected a JSON object {commandId, contactId, securityUser}',
    };
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(value));
  } catch (error) {
    const why = error instanceof SyntaxError ? error.message : 'not UTF-8 text';
    return { ok: false, field: 'value', message: `value is not valid JSON (${why})` };
  }
  if (!isObject(json)) {
    return {
      ok: false,
      field: 'value',
      message: `value must be a JSON object {commandId, contactId, securityUser}, got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`,
    };
  }
  const readable = {
    ...readableField(json, 'commandId', COMMAND_SHAPE.commandId),
    ...readableField(json, 'contactId', COMMAND_SHAPE.contactId),
  };
  // Named before the schema check, so `__proto__`, `constructor` or `toString` is reported as the unknown field it is.
  const unknown = Object.keys(json).find((key) => !Object.hasOwn(COMMAND_SHAPE, key));
  if (unknown !== undefined) {
    return {
      ok: false,
      field: unknown,
      message: `${unknown} is not a known field (expected: ${Object.keys(COMMAND_SHAPE).join(', ')})`,
      ...readable,
    };
  }
  try {
    return { ok: true, command: validate<EndContactMessage>(COMMAND, json) };
  } catch (error) {
    if (error instanceof InvalidInputError)
      return { ok: false, field: error.field, message: error.message, ...readable };
    throw error;
  }
}

function readableField(
  json: Record<string, unknown>,
  name: 'commandId' | 'contactId',
  field: (typeof COMMAND_SHAPE)[typeof name],
): Record<string, string> {
  if (!Object.hasOwn(json, name)) return {};
  try {
    return { [name]: validate<string>(field, json[name]) };
  } catch {
    return {};
  }
}

/** The first value of a header as text, or undefined. */
export function headerText(headers: RecordHeaders, name: string): string | undefined {
  const raw = headers[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

/** The incoming `correlation-id` header when usable (1-128 characters, like X-Correlation-Id over HTTP), else the fallback. */
export function correlationIdOf(headers: RecordHeaders, fallback: string): string {
  const header = headerText(headers, CORRELATION_ID_HEADER);
  return header !== undefined && header.length > 0 && header.length <= 128 ? header : fallback;
}

/** The answer to a command the handler decided: the Studio action body (branch = condition, no script branches) plus the IDs. */
export function resultBodyOf(
  command: Pick<EndContactMessage, 'commandId' | 'contactId'>,
  result: EndContactResult,
): ResultBody {
  return {
    commandId: command.commandId,
    contactId: command.contactId,
    ...(studioBodyOf(result, result.branch) as Omit<ResultBody, 'commandId' | 'contactId'>),
  };
}

/** The answer to a record that was not carried out: Default, with the error that says why. */
export function failureBodyOf(ids: { commandId?: string; contactId?: string }, error: ActionError): ResultBody {
  return {
    commandId: ids.commandId ?? null,
    contactId: ids.contactId ?? null,
    branch: 'Default',
    condition: 'Default',
    outputs: {},
    error,
  };
}

/**
 * The result record. Keyed by the commandId; for a record whose commandId could not be read, by the record's own
 * key, else by a generated ID, so that every record gets exactly one answer.
 */
export function resultRecordOf(
  topic: string,
  incoming: Pick<IncomingRecord, 'key' | 'headers'>,
  body: ResultBody,
  generateId: () => string = randomUUID,
): OutgoingRecord {
  const key: Buffer | string =
    body.commandId ?? (incoming.key !== null && incoming.key.length > 0 ? incoming.key : generateId());
  const correlationId = correlationIdOf(incoming.headers, typeof key === 'string' ? key : key.toString('utf8'));
  return { topic, key, value: JSON.stringify(body), headers: { [CORRELATION_ID_HEADER]: correlationId } };
}

/** The dead-letter copy: the original bytes, key and headers, plus where it came from and why it was refused. */
export function deadLetterOf(topic: string, incoming: IncomingRecord, reason: string): OutgoingRecord {
  const { value, removed } = withoutSecurityUser(incoming.value);
  const headers = headersWithoutCredentials(incoming.headers);
  const redacted = [...removed, ...headers.removed];
  return {
    topic,
    key: incoming.key,
    value,
    headers: {
      ...headers.headers,
      ...(redacted.length > 0 ? { [DLQ_HEADERS.redacted]: redacted.join(',') } : {}),
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.sourceTopic]: incoming.topic,
      [DLQ_HEADERS.partition]: String(incoming.partition),
      [DLQ_HEADERS.offset]: incoming.offset,
    },
  };
}
