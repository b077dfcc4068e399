// Bad input on every endpoint of docs/design.md, HTTP: a 4xx whose JSON names the field, and nothing written to the event
// log (the log head in GET /health does not move; the agent, contact or profile does not appear).
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient, type Answer } from './harness/client.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';
import { settledHead } from './harness/views.js';

let service: ServiceProcess;
let client: OrchestratorClient;
let ender: string; // SecurityUser of bu-a with Contacts.End + Contacts.View
let inactiveId: string;
let activeId: string; // an Active contact of bu-a that no test may end

type Body = Record<string, unknown>;

/** Runs `act` and proves it wrote nothing: the log head is the same before and after. */
async function writesNothing(act: () => Promise<void>): Promise<void> {
  const before = await settledHead(client);
  await act();
  expect(await settledHead(client)).toBe(before);
}

/** The message and field of an error body, in the plain shape or the end endpoint's `{error}` shape. */
function problemOf(answer: Answer): { message: string; field?: string } {
  const body = answer.body as { message?: string; field?: string; error?: { message: string; field?: string } };
  return typeof body.error === 'object'
    ? body.error
    : { message: String(body.message), ...(body.field ? { field: body.field } : {}) };
}

function expectRefused(answer: Answer, status: number, field: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/application\/json/);
  const problem = problemOf(answer);
  expect(problem.field).toBe(field);
  expect(problem.message).toContain(field);
}

/**
 * Sends a large JSON body with node:http: the server may answer 413 and close while the body is still being
 * written, so the answer counts as soon as it arrives and a later EPIPE/ECONNRESET of the upload is ignored.
 */
function sendLarge(method: string, path: string, payload: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(`${service.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${service.platformToken}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      },
    });
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          body: JSON.parse(text) as Record<string, unknown>,
          headers: new Headers(res.headers as Record<string, string>),
        }),
      );
    });
    req.on('error', (error) => !answered && reject(error));
    req.end(payload);
  });
}

const contact = (id: string) => client.request<Body>('GET', `/v1/contacts/${id}`);
const contactState = async (id: string) => (await contact(id)).body['state'];

beforeAll(async () => {
  service = await startServiceProcess();
  client = new OrchestratorClient(service.url, service.platformToken);
  const seeded = await client.seedBusinessUnit('bu-a');
  ender = seeded.ender;
  inactiveId = seeded.inactiveId;
  activeId = await client.startContact('bu-a', 'Phone', '5550001');
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

describe('PUT /v1/security-profiles/:profileId', () => {
  const good = { name: 'Supervisors', permissions: ['Contacts.View'] };
  it.each([
    ['permissions not an array', 'p1', { ...good, permissions: 'Contacts.View' }, 'permissions'],
    ['an unknown permission', 'p1', { ...good, permissions: ['Contacts.View', 'Contacts.Fly'] }, 'permissions[1]'],
    ['name missing', 'p1', { permissions: ['Contacts.View'] }, 'name'],
    ['name of the wrong type', 'p1', { ...good, name: 42 }, 'name'],
    ['an unknown field', 'p1', { ...good, colour: 'blue' }, 'colour'],
    ['a path id out of format', encodeURIComponent('bad id!'), good, 'profileId'],
    ['a path id too long (129 characters)', 'p'.repeat(129), good, 'profileId'],
  ])('%s → 400 naming the field, nothing written', async (_case, id, body, field) => {
    await writesNothing(async () =>
      expectRefused(await client.request('PUT', `/v1/security-profiles/${id}`, { body }), 400, field),
    );
  });

  it('an id of 128 characters, the documented maximum, is accepted', async () => {
    const id = `p${'1'.repeat(127)}`;
    const answer = await client.request('PUT', `/v1/security-profiles/${id}`, { body: good });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({ profileId: id, ...good });
  });
});

describe('PUT /v1/agents/:agentId', () => {
  it.each([
    ['active as the string "true"', { businessUnitId: 'bu-a', securityProfileId: 'ender', active: 'true' }, 'active'],
    ['businessUnitId missing', { securityProfileId: 'ender', active: true }, 'businessUnitId'],
    ['an unknown field', { businessUnitId: 'bu-a', securityProfileId: 'ender', active: true, role: 'admin' }, 'role'],
  ])('%s → 400 naming the field; the agent is not created', async (_case, body, field) => {
    await writesNothing(async () =>
      expectRefused(await client.request('PUT', '/v1/agents/ghost-agent', { body }), 400, field),
    );
    expect((await client.request('POST', '/v1/security-users', { body: { agentId: 'ghost-agent' } })).status).toBe(404);
  });
});

describe('POST /v1/security-users', () => {
  it('agentId as a number → 400 naming agentId', async () => {
    await writesNothing(async () =>
      expectRefused(await client.request('POST', '/v1/security-users', { body: { agentId: 7 } }), 400, 'agentId'),
    );
  });

  it('an unknown agent → 404, an inactive agent → 409, both naming the agent', async () => {
    await writesNothing(async () => {
      const unknown = await client.request('POST', '/v1/security-users', { body: { agentId: 'nobody' } });
      expect(unknown.status).toBe(404);
      expect(problemOf(unknown).message).toContain('nobody');
      const inactive = await client.request('POST', '/v1/security-users', { body: { agentId: inactiveId } });
      expect(inactive.status).toBe(409);
      expect(problemOf(inactive).message).toContain(inactiveId);
      expect(inactive.body).not.toHaveProperty('securityUser');
    });
  });
});

describe('POST /v1/contacts', () => {
  it.each([
    ['mediaType "Fax"', { businessUnitId: 'bu-a', mediaType: 'Fax', contactId: '5550101' }, 'mediaType', '5550101'],
    ['contactId "12a"', { businessUnitId: 'bu-a', mediaType: 'Phone', contactId: '12a' }, 'contactId', undefined],
    [
      'contactId of 20 digits',
      { businessUnitId: 'bu-a', mediaType: 'Phone', contactId: '1'.repeat(20) },
      'contactId',
      undefined,
    ],
    [
      'contactId as a number',
      { businessUnitId: 'bu-a', mediaType: 'Phone', contactId: 5550102 },
      'contactId',
      '5550102',
    ],
    [
      'skill of 500 characters',
      { businessUnitId: 'bu-a', mediaType: 'Chat', skill: 's'.repeat(500), contactId: '5550103' },
      'skill',
      '5550103',
    ],
    [
      'an unknown field',
      { businessUnitId: 'bu-a', mediaType: 'Chat', priority: 1, contactId: '5550104' },
      'priority',
      '5550104',
    ],
  ])('%s → 400 naming the field; the contact is not created', async (_case, body, field, id) => {
    await writesNothing(async () => expectRefused(await client.request('POST', '/v1/contacts', { body }), 400, field));
    if (id !== undefined) expect((await contact(id)).status).toBe(404);
  });

  it('a duplicate contactId → 409; the existing contact is unchanged', async () => {
    await writesNothing(async () => {
      const duplicate = await client.request('POST', '/v1/contacts', {
        body: { businessUnitId: 'bu-b', mediaType: 'Email', contactId: activeId },
      });
      expect(duplicate.status).toBe(409);
      expect(problemOf(duplicate).message).toContain(activeId);
    });
    expect((await contact(activeId)).body).toMatchObject({
      businessUnitId: 'bu-a',
      mediaType: 'Phone',
      state: 'Active',
    });
  });
});

describe('POST /v1/contacts/:contactId/end (valid SecurityUser, Active contact)', () => {
  const end = (options: { rawBody?: string; body?: unknown; headers?: Record<string, string> }) =>
    client.request('POST', `/v1/contacts/${activeId}/end`, { token: ender, ...options });

  it.each([
    ['a body that is an array', { rawBody: '[{"commandId":"c1"}]' }, 'body'],
    ['an unknown body field', { body: { commandId: 'c1', reason: 'done' } }, 'reason'],
    ['commandId of the wrong type', { body: { commandId: 17 } }, 'commandId'],
  ])(
    '%s → 400 {contactId, branch: Default, error: InvalidRequest naming the field}; still Active',
    async (_case, options, field) => {
      await writesNothing(async () => {
        const answer = await end(options);
        expectRefused(answer, 400, field);
        expect(answer.body).toMatchObject({
          contactId: activeId,
          branch: 'Default',
          error: { code: 'InvalidRequest' },
        });
        expect(answer.body).not.toHaveProperty('outputs');
      });
      expect(await contactState(activeId)).toBe('Active');
    },
  );

  it('Idempotency-Key and body commandId that differ → 409 {branch: Default, error: CommandIdConflict naming commandId}; still Active', async () => {
    await writesNothing(async () => {
      const answer = await end({ body: { commandId: 'c1' }, headers: { 'idempotency-key': 'c2' } });
      expectRefused(answer, 409, 'commandId');
      expect(answer.body).toMatchObject({
        contactId: activeId,
        branch: 'Default',
        error: { code: 'CommandIdConflict' },
      });
    });
    expect(await contactState(activeId)).toBe('Active');
  });

  it('broken JSON → 400 in the end shape, saying the body is not valid JSON; still Active', async () => {
    await writesNothing(async () => {
      const answer = await end({ rawBody: '{"commandId": "c1"' });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ contactId: activeId, branch: 'Default', error: { code: 'InvalidRequest' } });
      expect(problemOf(answer)).toMatchObject({
        field: 'body',
        message: expect.stringMatching(/^body is not valid JSON/),
      });
    });
    expect(await contactState(activeId)).toBe('Active');
  });
});

describe('POST /v1/actions/end-a-contact (valid SecurityUser, Active contact)', () => {
  it.each([
    ['ContactID missing', { SecurityUser: '{SecurityUser}' }, 'ContactID'],
    ['ContactID as a number', { ContactID: 5550001 }, 'ContactID'],
    [
      'branches with an unknown branch name',
      { ContactID: '5550001', branches: ['OnSuccess', 'OnFailure'] },
      'branches[1]',
    ],
    ['scriptType "Fax"', { ContactID: '5550001', scriptType: 'Fax' }, 'scriptType'],
    ['a variable with a non-string value', { ContactID: '5550001', variables: { x: 1 } }, 'variables.x'],
  ])('%s → 400 naming the field; still Active', async (_case, body, field) => {
    await writesNothing(async () => {
      const answer = await client.studioAction({ variables: { SecurityUser: ender }, ...body });
      expectRefused(answer, 400, field);
    });
    expect(await contactState(activeId)).toBe('Active');
  });
});

describe('GET /v1/contacts', () => {
  it.each([
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=abc', 'limit'],
    ['state=Open', 'state'],
    ['after=x', 'after'],
    ['colour=blue', 'colour'],
  ])('?%s → 400 naming %s', async (query, field) => {
    expectRefused(await client.request('GET', `/v1/contacts?${query}`), 400, field);
  });

  it.each(['12a', '1'.repeat(20)])(
    'a malformed contact id (%s) → 400 naming contactId on the view and the history',
    async (id) => {
      expectRefused(await client.request('GET', `/v1/contacts/${id}`), 400, 'contactId');
      expectRefused(await client.request('GET', `/v1/contacts/${id}/history`), 400, 'contactId');
    },
  );
});

describe('bodies the framework refuses', () => {
  const big = 'x'.repeat(1024 * 1024 + 10);
  it('a body over 1 MB → 413 on a POST and a PUT, nothing written', async () => {
    await writesNothing(async () => {
      for (const answer of [
        await sendLarge(
          'POST',
          '/v1/contacts',
          JSON.stringify({ businessUnitId: 'bu-a', mediaType: 'Phone', contactId: '5550201', skill: big }),
        ),
        await sendLarge(
          'PUT',
          '/v1/agents/big-agent',
          JSON.stringify({ businessUnitId: 'bu-a', securityProfileId: big, active: true }),
        ),
      ]) {
        expect(answer.status).toBe(413);
        expect(problemOf(answer).message).toMatch(/body/i);
        expect(problemOf(answer).message).toMatch(/large|limit/i);
      }
    });
    expect((await contact('5550201')).status).toBe(404);
  });

  it.each([
    ['PUT', '/v1/security-profiles/p-json'],
    ['PUT', '/v1/agents/json-agent'],
    ['POST', '/v1/security-users'],
    ['POST', '/v1/contacts'],
    ['POST', '/v1/contacts/5550001/end'],
    ['POST', '/v1/actions/end-a-contact'],
  ])('broken JSON on %s %s → 400 naming the body', async (method, path) => {
    await writesNothing(async () => {
      const answer = await client.request(method, path, {
        rawBody: '{"businessUnitId": "bu-a",',
        ...(path.endsWith('/end') ? { token: ender } : {}),
      });
      expect(answer.status).toBe(400);
      expect(problemOf(answer)).toMatchObject({
        field: 'body',
        message: expect.stringMatching(/^body is not valid JSON/),
      });
    });
  });

  it.each([
    ['POST', '/v1/contacts', { businessUnitId: 'bu-a', mediaType: 'Phone', contactId: '5550301' }],
    ['PUT', '/v1/security-profiles/p-text', { name: 'Text', permissions: [] }],
    ['POST', '/v1/actions/end-a-contact', { SecurityUser: 'x', ContactID: '5550001' }],
  ])(
    'Content-Type text/plain with a JSON body on %s %s → 415 saying what content type is expected',
    async (method, path, body) => {
      await writesNothing(async () => {
        const answer = await client.request(method, path, {
          rawBody: JSON.stringify(body),
          headers: { 'content-type': 'text/plain' },
        });
        expect(answer.status).toBe(415);
        expect(problemOf(answer)).toMatchObject({
          field: 'content-type',
          message: 'body must be sent as Content-Type: application/json',
        });
      });
      expect((await contact('5550301')).status).toBe(404);
    },
  );
});

describe('platform endpoints refuse any other credential with 401', () => {
  const calls: Array<[string, string, Body]> = [
    ['PUT', '/v1/security-profiles/p-auth', { name: 'Auth', permissions: ['Contacts.End'] }],
    ['PUT', '/v1/agents/auth-agent', { businessUnitId: 'bu-a', securityProfileId: 'ender', active: true }],
    ['POST', '/v1/security-users', { agentId: 'bu-a-ender' }],
    ['POST', '/v1/contacts', { businessUnitId: 'bu-a', mediaType: 'Phone', contactId: '5550401' }],
  ];
  it.each(calls)('%s %s: no token, a wrong token, a SecurityUser → 401', async (method, path, body) => {
    await writesNothing(async () => {
      for (const token of [null, 'not-the-platform-token', `${service.platformToken}x`, ender]) {
        const answer = await client.request(method, path, { body, token });
        expect(answer.status, `token ${String(token).slice(0, 12)}`).toBe(401);
        expect(answer.body).not.toHaveProperty('securityUser');
      }
    });
    expect((await contact('5550401')).status).toBe(404);
    expect((await client.request('POST', '/v1/security-users', { body: { agentId: 'auth-agent' } })).status).toBe(404);
  });
});
