import { describe, expect, it } from 'vitest';
import type { EndContactResult } from '../contacts/end-contact.command.js';
import {
  correlationIdOf,
  deadLetterOf,
  failureBodyOf,
  parseCommandMessage,
  resultBodyOf,
  resultRecordOf,
  type IncomingRecord,
} from './command-message.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const valid = { commandId: 'cmd-1', contactId: '1234567', securityUser: 'token' };

function refused(value: Buffer | null) {
  const parsed = parseCommandMessage(value);
  if (parsed.ok) throw new Error(`expected a refusal, got ${JSON.stringify(parsed)}`);
  return parsed;
}

describe('parseCommandMessage', () => {
  it('reads a well-formed command', () => {
    expect(parseCommandMessage(json(valid))).toEqual({ ok: true, command: valid });
  });

  it('accepts a contactId that is not a contact ID: the handler answers OnInvalidContactID for it', () => {
    expect(parseCommandMessage(json({ ...valid, contactId: 'not-a-number' }))).toMatchObject({ ok: true });
  });

  it.each([
    ['broken JSON', Buffer.from('{"commandId": "a",'), 'value', /^value is not valid JSON \(/],
    [
      'bytes that are not UTF-8',
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      'value',
      /^value is not valid JSON \(not UTF-8 text\)$/,
    ],
    ['an empty value', Buffer.alloc(0), 'value', /^value is empty/],
    ['a null value (tombstone)', null, 'value', /^value is empty/],
    ['a JSON array', json([valid]), 'value', /must be a JSON object .*got an array$/],
    ['a JSON string', json('cmd-1'), 'value', /must be a JSON object .*got string$/],
    ['JSON null', Buffer.from('null'), 'value', /must be a JSON object .*got null$/],
  ])('refuses %s, naming the value', (_what, value, field, message) => {
    const parsed = refused(value);
    expect(parsed.field).toBe(field);
    expect(parsed.message).toMatch(message);
    expect(parsed.commandId).toBeUndefined();
  });

  it('refuses a missing field, naming it, and keeps the commandId it could read', () => {
    const parsed = refused(json({ commandId: 'cmd-2', securityUser: 'token' }));
    expect(parsed).toMatchObject({ field: 'contactId', message: 'contactId is required', commandId: 'cmd-2' });
    expect(parsed.contactId).toBeUndefined();
  });

  it('refuses an unknown field, naming it', () => {
    const parsed = refused(json({ ...valid, ttl: 5 }));
    expect(parsed).toMatchObject({ field: 'ttl', commandId: 'cmd-1', contactId: '1234567' });
    expect(parsed.message).toBe('ttl is not a known field (expected: commandId, contactId, securityUser)');
  });

  it.each(['__proto__', 'constructor', 'toString'])('refuses the inherited name `%s` as an unknown field', (name) => {
    const parsed = refused(Buffer.from(`{"${name}": {"x": 1}, ${JSON.stringify(valid).slice(1)}`));
    expect(parsed).toMatchObject({
      field: name,
      message: `${name} is not a known field (expected: commandId, contactId, securityUser)`,
    });
  });

  it.each([
    [{ ...valid, contactId: 1234567 }, 'contactId', 'contactId must be a string, got number 1234567'],
    [{ ...valid, securityUser: null }, 'securityUser', 'securityUser must be a string, got null'],
    [{ ...valid, securityUser: '' }, 'securityUser', 'securityUser must not be empty'],
    [{ ...valid, securityUser: 'x'.repeat(8193) }, 'securityUser', 'securityUser must be at most 8192 characters'],
    [{ ...valid, contactId: ['1'] }, 'contactId', 'contactId must be a string, got an array'],
  ])('refuses a wrong type or size: %j', (value, field, message) => {
    expect(refused(json(value))).toMatchObject({ field, message, commandId: 'cmd-1' });
  });

  it('refuses an invalid commandId and does not use it as a key', () => {
    const parsed = refused(json({ ...valid, commandId: 'has space' }));
    expect(parsed.field).toBe('commandId');
    expect(parsed.message).toMatch(/^commandId must be letters, digits/);
    expect(parsed.commandId).toBeUndefined();
    expect(parsed.contactId).toBe('1234567');
  });
});

describe('result bodies: the Studio action answer plus commandId and contactId', () => {
  const ids = { commandId: 'cmd-1', contactId: '1234567' };
  it.each<[EndContactResult, Record<string, unknown>]>([
    [
      {
        branch: 'OnSuccess',
        contactId: '1234567',
        endedAt: '2025-01-01T00:00:00.000Z',
        position: '7',
        replayed: false,
      },
      { branch: 'OnSuccess', condition: 'OnSuccess', outputs: { __DISCONNECTREASON: 'TerminateScript' } },
    ],
    [
      { branch: 'OnInvalidSecurityUser', contactId: '1234567', detail: 'expired' },
      {
        branch: 'OnInvalidSecurityUser',
        condition: 'OnInvalidSecurityUser',
        outputs: {},
        error: { code: 'InvalidSecurityUser', message: 'expired' },
      },
    ],
    [
      { branch: 'OnUnauthorized', contactId: '1234567', detail: 'lacks Contacts.End' },
      {
        branch: 'OnUnauthorized',
        condition: 'OnUnauthorized',
        outputs: {},
        error: { code: 'Unauthorized', message: 'lacks Contacts.End' },
      },
    ],
    [
      { branch: 'OnInvalidContactID', contactId: '1234567', cause: 'NotFound', detail: 'Contact 1234567 not found' },
      {
        branch: 'OnInvalidContactID',
        condition: 'OnInvalidContactID',
        outputs: {},
        error: { code: 'InvalidContactID', message: 'Contact 1234567 not found' },
      },
    ],
    [
      { branch: 'Default', contactId: '1234567', detail: 'Event store unavailable: down' },
      {
        branch: 'Default',
        condition: 'Default',
        outputs: {},
        error: { code: 'StoreUnavailable', message: 'Event store unavailable: down' },
      },
    ],
  ])('%s', (result, expected) => {
    expect(resultBodyOf(ids, result)).toEqual({ ...ids, ...expected });
  });

  it('a refused record: Default, InvalidCommand, null for the IDs it could not read', () => {
    expect(failureBodyOf({}, { code: 'InvalidCommand', message: 'value is empty' })).toEqual({
      commandId: null,
      contactId: null,
      branch: 'Default',
      condition: 'Default',
      outputs: {},
      error: { code: 'InvalidCommand', message: 'value is empty' },
    });
  });
});

describe('result records', () => {
  const body = failureBodyOf({ commandId: 'cmd-9' }, { code: 'InvalidCommand', message: 'x' });
  const anonymous = failureBodyOf({}, { code: 'InvalidCommand', message: 'x' });

  it('is keyed by commandId, correlation-id from the incoming header', () => {
    const record = resultRecordOf(
      'results',
      { key: Buffer.from('k'), headers: { 'correlation-id': Buffer.from('corr-1') } },
      body,
    );
    expect(record).toEqual({
      topic: 'results',
      key: 'cmd-9',
      value: JSON.stringify(body),
      headers: { 'correlation-id': 'corr-1' },
    });
  });

  it('correlation-id falls back to the commandId', () => {
    expect(resultRecordOf('results', { key: null, headers: {} }, body).headers).toEqual({ 'correlation-id': 'cmd-9' });
  });

  it('without a readable commandId, is keyed by the record key, else by a generated ID', () => {
    const byKey = resultRecordOf('results', { key: Buffer.from('their-key'), headers: {} }, anonymous);
    expect(byKey.key).toEqual(Buffer.from('their-key'));
    expect(byKey.headers).toEqual({ 'correlation-id': 'their-key' });
    const generated = resultRecordOf('results', { key: null, headers: {} }, anonymous, () => 'gen-1');
    expect(generated).toMatchObject({ key: 'gen-1', headers: { 'correlation-id': 'gen-1' } });
    expect(JSON.parse(generated.value as string)).toMatchObject({ commandId: null, branch: 'Default' });
  });

  it('correlationIdOf ignores empty or oversize headers and reads the first of repeated ones', () => {
    expect(correlationIdOf({ 'correlation-id': Buffer.alloc(0) }, 'fb')).toBe('fb');
    expect(correlationIdOf({ 'correlation-id': 'x'.repeat(129) }, 'fb')).toBe('fb');
    expect(correlationIdOf({ 'correlation-id': [Buffer.from('a'), Buffer.from('b')] }, 'fb')).toBe('a');
  });
});

describe('dead-letter copies', () => {
  it('keep the original bytes, key and headers, and add where from and why', () => {
    const incoming: IncomingRecord = {
      topic: 'contact.commands',
      partition: 2,
      offset: '41',
      key: Buffer.from([1, 2, 3]),
      value: Buffer.from([0x7b, 0xff]),
      headers: { 'correlation-id': Buffer.from('c'), trace: [Buffer.from('a'), Buffer.from('b')] },
    };
    expect(deadLetterOf('dlq', incoming, 'InvalidCommand: value is not valid JSON')).toEqual({
      topic: 'dlq',
      key: Buffer.from([1, 2, 3]),
      value: Buffer.from([0x7b, 0xff]),
      headers: {
        'correlation-id': Buffer.from('c'),
        trace: [Buffer.from('a'), Buffer.from('b')],
        'dlq-reason': 'InvalidCommand: value is not valid JSON',
        'dlq-source-topic': 'contact.commands',
        'dlq-partition': '2',
        'dlq-offset': '41',
      },
    });
  });

  const jwt = 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhZ2VudC03In0.c2lnbmF0dXJlLWJ5dGVz';
  const from = (value: Buffer): IncomingRecord => ({
    topic: 'contact.commands',
    partition: 0,
    offset: '7',
    key: null,
    value,
    headers: {},
  });

  it('drop the securityUser of a JSON command, and say so in a header', () => {
    const copy = deadLetterOf(
      'dlq',
      from(Buffer.from(JSON.stringify({ commandId: 'c1', contactId: '12x', securityUser: jwt }))),
      'InvalidCommand',
    );
    expect(JSON.parse(String(copy.value))).toEqual({ commandId: 'c1', contactId: '12x' });
    expect(String(copy.value)).not.toContain(jwt);
    expect(copy.headers['dlq-redacted']).toBe('securityUser');
  });

  it('mask anything shaped like a JWT in a value that is not JSON', () => {
    const copy = deadLetterOf('dlq', from(Buffer.from(`{"commandId":"c1","securityUser":"${jwt}"`)), 'InvalidCommand');
    expect(String(copy.value)).toBe('{"commandId":"c1","securityUser":"***"');
    expect(copy.headers['dlq-redacted']).toBe('securityUser');
  });

  it('drop a credential by name in any case and at any depth, and JWT-shaped strings in other fields', () => {
    const value = {
      SecurityUser: jwt,
      command: { securityUser: jwt, contactId: '5' },
      items: [{ authorization: `Bearer ${jwt}` }],
      note: `sent ${jwt}`,
    };
    const copy = deadLetterOf('dlq', from(Buffer.from(JSON.stringify(value))), 'InvalidCommand');
    expect(JSON.parse(String(copy.value))).toEqual({ command: { contactId: '5' }, items: [{}], note: 'sent ***' });
    expect(String(copy.value)).not.toContain(jwt.slice(0, 20));
    expect(copy.headers['dlq-redacted']).toBe('SecurityUser,command.securityUser,items[0].authorization,note');
  });

  it('drop an incoming authorization header and mask a JWT in any other header', () => {
    const incoming: IncomingRecord = {
      ...from(Buffer.from('{}')),
      headers: { authorization: Buffer.from(`Bearer ${jwt}`), 'x-trace': `t ${jwt}`, 'correlation-id': 'c-1' },
    };
    const copy = deadLetterOf('dlq', incoming, 'InvalidCommand');
    expect(copy.headers.authorization).toBeUndefined();
    expect(copy.headers['x-trace']).toBe('t ***');
    expect(copy.headers['correlation-id']).toBe('c-1');
    expect(copy.headers['dlq-redacted']).toBe('header:authorization,header:x-trace');
  });

  it('keep a value with no credential as it was, without the header', () => {
    const value = Buffer.from(JSON.stringify({ commandId: 'c1' }));
    const copy = deadLetterOf('dlq', from(value), 'InvalidCommand');
    expect(copy.value).toBe(value);
    expect(copy.headers['dlq-redacted']).toBeUndefined();
  });
});
