/**
 * The one place errors become answers: what terminus throws when a health check fails keeps every check's details
 * (it was `"message":"[object Object]"`), a store failure is 503 and never 500, a 401 names the Bearer scheme.
 */
import { ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventStoreUnavailableError } from '#event-store';
import { ErrorsFilter } from './errors.filter.js';
import { RouteTable } from './route-table.js';

function answerTo(exception: unknown, request: { method: string; url: string }) {
  const sent: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => reply, getRequest: () => request }),
  } as unknown as ArgumentsHost;
  const routes = new RouteTable();
  routes.add(['GET', 'HEAD'], '/health');
  routes.add('POST', '/v1/contacts/:contactId/end');
  new ErrorsFilter(pino({ level: 'silent' }), routes).catch(exception, host);
  return sent;
}

describe('ErrorsFilter', () => {
  it('a failed health check is answered 503 with terminus’ report: each check and its details', () => {
    const report = {
      status: 'error',
      info: { 'contact-view': { status: 'up', checkpoint: '3', head: '3', caughtUp: true } },
      error: { eventStore: { status: 'down', message: 'SQLite events.db is closed' } },
      details: {
        eventStore: { status: 'down', message: 'SQLite events.db is closed' },
        'contact-view': { status: 'up', checkpoint: '3', head: '3', caughtUp: true },
      },
    };
    const sent = answerTo(new ServiceUnavailableException(report), { method: 'GET', url: '/health' });
    expect(sent.status).toBe(503);
    expect(sent.body).toEqual(report);
  });

  it('a store failure is 503 with a body, an unexpected SQLite error too, never 500', () => {
    expect(answerTo(new EventStoreUnavailableError('down'), { method: 'PUT', url: '/v1/agents/a' })).toMatchObject({
      status: 503,
      body: { statusCode: 503, message: 'Event store unavailable: down' },
    });
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    expect(answerTo(busy, { method: 'GET', url: '/v1/contacts' })).toMatchObject({ status: 503 });
    expect(
      answerTo(new EventStoreUnavailableError('down'), { method: 'POST', url: '/v1/contacts/42/end' }).body,
    ).toEqual({
      contactId: '42',
      branch: 'Default',
      error: { code: 'StoreUnavailable', message: 'Event store unavailable: down' },
    });
  });

  it('a 401 carries WWW-Authenticate: Bearer; on the end endpoint it is the branch OnInvalidSecurityUser', () => {
    const sent = answerTo(new UnauthorizedException('Authorization: Bearer <SecurityUser> is required'), {
      method: 'POST',
      url: '/v1/contacts/42/end',
    });
    expect(sent.status).toBe(401);
    expect(sent.headers['www-authenticate']).toBe('Bearer');
    expect(sent.body).toMatchObject({
      contactId: '42',
      branch: 'OnInvalidSecurityUser',
      error: { code: 'InvalidSecurityUser' },
    });
  });
});
