import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { EndContactCommand, EndContactResult } from '../contacts/end-contact.command.js';
import { CommandConsumer, isRetriable } from './command-consumer.js';
import type { IncomingRecord, OutgoingRecord } from './command-message.js';

const logger = pino({ level: 'silent' });
const topics = { commandResults: 'results', deadLetter: 'dlq' };

function record(value: unknown, headers: IncomingRecord['headers'] = {}): IncomingRecord {
  return {
    topic: 'commands',
    partition: 0,
    offset: '5',
    key: Buffer.from('k'),
    value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value)),
    headers,
  };
}

function setup(
  execute: (command: EndContactCommand) => Promise<EndContactResult>,
  publishFails?: (r: OutgoingRecord, attempt: number) => Error | undefined,
) {
  const sent: OutgoingRecord[] = [];
  const executed: EndContactCommand[] = [];
  let attempt = 0;
  const consumer = new CommandConsumer({
    topics,
    logger,
    execute: (command) => {
      executed.push(command);
      return execute(command);
    },
  });
  const publish = async (r: OutgoingRecord) => {
    const failure = publishFails?.(r, attempt++);
    if (failure) throw failure;
    sent.push(r);
  };
  return { consumer, publish, sent, executed };
}

const body = (r: OutgoingRecord | undefined) => JSON.parse(String(r?.value));
const success = async (): Promise<EndContactResult> => ({
  branch: 'OnSuccess',
  contactId: '42',
  endedAt: 'now',
  position: '1',
  replayed: false,
});
const command = { commandId: 'cmd-1', contactId: '42', securityUser: 'su' };

describe('CommandConsumer', () => {
  it('runs a command as source kafka and answers on the results topic only', async () => {
    const { consumer, publish, sent, executed } = setup(success);
    await consumer.handle(record(command, { 'correlation-id': Buffer.from('corr') }), publish);
    expect(executed[0]?.request).toEqual({
      contactId: '42',
      securityUser: 'su',
      commandId: 'cmd-1',
      correlationId: 'corr',
      source: 'kafka',
      clientAddress: 'kafka:commands',
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 'results', key: 'cmd-1', headers: { 'correlation-id': 'corr' } });
    expect(body(sent[0])).toEqual({
      commandId: 'cmd-1',
      contactId: '42',
      branch: 'OnSuccess',
      condition: 'OnSuccess',
      outputs: { __DISCONNECTREASON: 'TerminateScript' },
    });
  });

  it('a store failure is the handler answer: Default / StoreUnavailable, not dead-lettered', async () => {
    const { consumer, publish, sent } = setup(async () => ({
      branch: 'Default',
      contactId: '42',
      detail: 'Event store unavailable: x',
    }));
    await consumer.handle(record(command), publish);
    expect(sent.map((r) => r.topic)).toEqual(['results']);
    expect(body(sent[0])).toMatchObject({ branch: 'Default', error: { code: 'StoreUnavailable' } });
  });

  it('a malformed record: Default / InvalidCommand answer and the original to the dead-letter topic, nothing executed', async () => {
    const { consumer, publish, sent, executed } = setup(success);
    await consumer.handle(record({ commandId: 'cmd-2', securityUser: 'su' }), publish);
    expect(executed).toHaveLength(0);
    expect(sent.map((r) => r.topic)).toEqual(['results', 'dlq']);
    expect(sent[0]?.key).toBe('cmd-2');
    expect(body(sent[0])).toMatchObject({
      commandId: 'cmd-2',
      branch: 'Default',
      error: { code: 'InvalidCommand', message: 'contactId is required' },
    });
    expect(sent[1]).toMatchObject({
      key: Buffer.from('k'),
      headers: { 'dlq-reason': 'InvalidCommand: contactId is required', 'dlq-offset': '5' },
    });
  });

  it('a handler that throws: Default / InternalError answer and dead-lettered; handle() itself resolves', async () => {
    const { consumer, publish, sent } = setup(async () => {
      throw new TypeError('boom');
    });
    await expect(consumer.handle(record(command), publish)).resolves.toBeUndefined();
    expect(sent.map((r) => r.topic)).toEqual(['results', 'dlq']);
    expect(sent[0]?.key).toBe('cmd-1');
    expect(body(sent[0])).toMatchObject({
      commandId: 'cmd-1',
      contactId: '42',
      branch: 'Default',
      error: { code: 'InternalError', message: 'EndContact failed: boom' },
    });
    expect(sent[1]?.headers['dlq-reason']).toBe('InternalError: EndContact failed: boom');
  });

  it('a retriable Kafka failure is thrown back (the record is redelivered)', async () => {
    const down = Object.assign(new Error('retries exhausted'), { name: 'KafkaJSNumberOfRetriesExceeded' });
    const { consumer, publish } = setup(success, () => down);
    await expect(consumer.handle(record(command), publish)).rejects.toBe(down);
  });

  it('a dead-letter copy refused for good is retried without its value, then the consumer moves on', async () => {
    const tooLarge = Object.assign(new Error('MESSAGE_TOO_LARGE'), { retriable: false });
    const { consumer, publish, sent } = setup(success, (r) =>
      r.topic === 'dlq' && r.value !== null ? tooLarge : undefined,
    );
    await consumer.handle(record(Buffer.from('not json')), publish);
    expect(sent.map((r) => [r.topic, r.value === null])).toEqual([
      ['results', false],
      ['dlq', true],
    ]);
    expect(sent[1]?.headers['dlq-value-dropped']).toBeDefined();
  });

  it('an answer refused for good dead-letters the command instead of looping on it', async () => {
    const notAllowed = Object.assign(new Error('TOPIC_AUTHORIZATION_FAILED'), { retriable: false });
    const { consumer, publish, sent } = setup(success, (r) => (r.topic === 'results' ? notAllowed : undefined));
    await consumer.handle(record(command), publish);
    expect(sent.map((r) => r.topic)).toEqual(['dlq']);
    expect(sent[0]?.headers['dlq-reason']).toBe('ResultNotWritten: TOPIC_AUTHORIZATION_FAILED');
  });
});

describe('isRetriable', () => {
  it('follows kafkajs: retries exhausted, or a retriable cause', () => {
    expect(isRetriable(Object.assign(new Error(), { retriable: true }))).toBe(true);
    expect(isRetriable(Object.assign(new Error(), { retriable: false, originalError: { retriable: true } }))).toBe(
      true,
    );
    expect(isRetriable(Object.assign(new Error(), { retriable: false }))).toBe(false);
    expect(isRetriable(new TypeError('x'))).toBe(false);
  });
});
