// POST /v1/actions/end-a-contact over real HTTP (docs/design.md, End a Contact and HTTP): every branch, `{variable}` inputs, the default
// SecurityUser variable, Default fallback for branches the script does not define, script types, and replay.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MEDIA_TYPES } from '#contacts';
import { OrchestratorClient } from './harness/client.js';
import { settledHead } from './harness/views.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

const SUCCESS = { branch: 'OnSuccess', condition: 'OnSuccess', outputs: { __DISCONNECTREASON: 'TerminateScript' } };

let service: ServiceProcess;
let client: OrchestratorClient;
let ender: string; // bu-studio, Contacts.End + View
let viewer: string; // bu-studio, Contacts.View only
let otherEnder: string; // bu-other, Contacts.End + View
let enderId: string;

/** Still Active once the views have caught up with the whole log (so a stray ContactEnded would show). */
async function expectStillActive(id: string): Promise<void> {
  await settledHead(client);
  expect((await client.request('GET', `/v1/contacts/${id}`)).body['state']).toBe('Active');
}

/** The view follows the log: an ended contact shows as Ended within a few seconds (the action does not wait). */
function ended(id: string): Promise<Record<string, unknown>> {
  return vi.waitFor(
    async () => {
      const view = (await client.request('GET', `/v1/contacts/${id}`)).body;
      expect(view['state'], `contact ${id} in the view`).toBe('Ended');
      return view;
    },
    { timeout: 5_000, interval: 25 },
  );
}

/** Calls the action; every answer the action gives is HTTP 200. */
async function act(body: Record<string, unknown>) {
  const answer = await client.studioAction(body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

beforeAll(async () => {
  service = await startServiceProcess();
  client = new OrchestratorClient(service.url, service.platformToken);
  ({ ender, viewer, enderId } = await client.seedBusinessUnit('bu-studio'));
  otherEnder = (await client.seedBusinessUnit('bu-other')).ender;
});

afterAll(async () => {
  await service?.stop();
  if (service) removeDataDir(service.dataDir);
});

describe('OnSuccess', () => {
  it('ends an active contact: outputs.__DISCONNECTREASON = TerminateScript, no error', async () => {
    const id = await client.startContact('bu-studio', 'Phone');
    const answer = await act({ SecurityUser: ender, ContactID: id });
    expect(answer).toEqual(SUCCESS);
    expect(await ended(id)).toMatchObject({ endedBy: enderId, disconnectReason: 'TerminateScript' });
  });

  it('resolves `{variable}` references for both inputs', async () => {
    const id = await client.startContact('bu-studio', 'Chat');
    const answer = await act({
      SecurityUser: '{agentCredential}',
      ContactID: '{ContactId}',
      variables: { agentCredential: ender, ContactId: id, Other: 'x' },
    });
    expect(answer).toEqual(SUCCESS);
    await ended(id);
  });

  it('without a SecurityUser field, reads the default variable `SecurityUser`', async () => {
    const id = await client.startContact('bu-studio', 'Email');
    expect(await act({ ContactID: id, variables: { SecurityUser: ender } })).toEqual(SUCCESS);
    await ended(id);
  });

  it('a commandId replay returns the same OnSuccess answer and writes nothing new', async () => {
    const id = await client.startContact('bu-studio', 'SMS');
    const body = { SecurityUser: ender, ContactID: id, commandId: `studio-replay-${id}` };
    const first = await act(body);
    expect(first).toEqual(SUCCESS);
    const head = await settledHead(client);
    expect(await act(body)).toEqual(first);
    expect(await act({ ...body, SecurityUser: '{SecurityUser}', variables: { SecurityUser: ender } })).toEqual(first);
    expect(await settledHead(client)).toBe(head);
    const history = (
      await client.request<{ events: Array<{ type: string; metadata: Record<string, unknown> }> }>(
        'GET',
        `/v1/contacts/${id}/history`,
      )
    ).body;
    expect(history.events.map((e) => e.type)).toEqual(['ContactStarted', 'ContactEnded']);
    expect(history.events[1]!.metadata).toMatchObject({ commandId: `studio-replay-${id}`, source: 'studio-action' });
    // A new command on the ended contact is not a replay.
    expect(await act({ SecurityUser: ender, ContactID: id })).toMatchObject({
      branch: 'OnInvalidContactID',
      condition: 'OnInvalidContactID',
    });
  });

  it('a commandId already used on another contact is not answered as a store failure', async () => {
    const [first, second] = [
      await client.startContact('bu-studio', 'Phone'),
      await client.startContact('bu-studio', 'Phone'),
    ];
    expect(await act({ SecurityUser: ender, ContactID: first, commandId: 'studio-shared-key' })).toEqual(SUCCESS);
    const answer = await act({ SecurityUser: ender, ContactID: second, commandId: 'studio-shared-key' });
    expect(answer.condition).not.toBe('Default');
    expect(answer).toEqual(SUCCESS);
    await ended(second);
  });
});

describe('OnInvalidSecurityUser', () => {
  it.each([
    [
      'an undefined `{variable}`',
      (id: string) => ({ SecurityUser: '{NoSuchVariable}', ContactID: id, variables: { SecurityUser: ender } }),
    ],
    ['no SecurityUser field and no default variable', (id: string) => ({ ContactID: id })],
    ['an empty SecurityUser', (id: string) => ({ SecurityUser: '', ContactID: id })],
    ['a forged SecurityUser', (id: string) => ({ SecurityUser: `${ender.slice(0, -4)}AAAA`, ContactID: id })],
    ['a SecurityUser that is not a token', (id: string) => ({ SecurityUser: 'not-a-token', ContactID: id })],
  ])('%s → OnInvalidSecurityUser; the contact stays Active', async (_case, body) => {
    const id = await client.startContact('bu-studio', 'WorkItem');
    const answer = await act(body(id));
    expect(answer).toMatchObject({
      branch: 'OnInvalidSecurityUser',
      condition: 'OnInvalidSecurityUser',
      outputs: {},
      error: { code: 'InvalidSecurityUser' },
    });
    expect(answer.error!.message.length).toBeGreaterThan(0);
    await expectStillActive(id);
  });

  it('comes before the contact ID check: a bad SecurityUser with a malformed ContactID', async () => {
    expect(await act({ SecurityUser: 'nope', ContactID: '{missing}' })).toMatchObject({
      branch: 'OnInvalidSecurityUser',
    });
  });
});

describe('OnUnauthorized', () => {
  it('a SecurityUser without Contacts.End → OnUnauthorized; the contact stays Active', async () => {
    const id = await client.startContact('bu-studio', 'Voicemail');
    const answer = await act({ SecurityUser: viewer, ContactID: id });
    expect(answer).toMatchObject({
      branch: 'OnUnauthorized',
      condition: 'OnUnauthorized',
      outputs: {},
      error: { code: 'Unauthorized' },
    });
    expect(answer.error!.message).toContain('Contacts.End');
    await expectStillActive(id);
  });
});

describe('OnInvalidContactID', () => {
  it.each([
    ['an undefined `{variable}`', () => Promise.resolve('{NoSuchContact}')],
    ['a malformed ID', () => Promise.resolve('12a')],
    ['an ID of 20 digits', () => Promise.resolve('1'.repeat(20))],
    ['an unknown ID', () => Promise.resolve('8080808080')],
    ['another business unit’s contact', () => client.startContact('bu-other', 'Phone')],
    [
      'an ended contact',
      async () => {
        const id = await client.startContact('bu-studio', 'Phone');
        await act({ SecurityUser: ender, ContactID: id });
        return id;
      },
    ],
  ])('%s → OnInvalidContactID', async (_case, contactId) => {
    const id = await contactId();
    const answer = await act({ SecurityUser: '{SecurityUser}', ContactID: id, variables: { SecurityUser: ender } });
    expect(answer).toMatchObject({
      branch: 'OnInvalidContactID',
      condition: 'OnInvalidContactID',
      outputs: {},
      error: { code: 'InvalidContactID' },
    });
    expect(JSON.stringify(answer)).not.toContain('bu-other');
  });

  it('another business unit’s contact is answered exactly like an unknown one and stays Active', async () => {
    const id = await client.startContact('bu-other', 'Email');
    const foreign = await act({ SecurityUser: ender, ContactID: id });
    const unknown = await act({ SecurityUser: ender, ContactID: '8181818181' });
    expect(foreign).toEqual(JSON.parse(JSON.stringify(unknown).replaceAll('8181818181', id)));
    await expectStillActive(id);
    expect(await act({ SecurityUser: otherEnder, ContactID: id })).toEqual(SUCCESS);
  });
});

describe('branches the script defines', () => {
  const all = ['OnSuccess', 'OnInvalidSecurityUser', 'OnUnauthorized', 'OnInvalidContactID', 'Default'];
  const without = (branch: string) => all.filter((b) => b !== branch);

  it('a defined branch is taken as is', async () => {
    const id = await client.startContact('bu-studio', 'Phone');
    expect(await act({ SecurityUser: ender, ContactID: id, branches: all })).toEqual(SUCCESS);
    expect(await act({ SecurityUser: viewer, ContactID: id, branches: ['OnUnauthorized'] })).toMatchObject({
      branch: 'OnUnauthorized',
      condition: 'OnUnauthorized',
    });
  });

  it('OnSuccess not defined → branch Default, condition OnSuccess; the contact is still ended', async () => {
    const id = await client.startContact('bu-studio', 'Digital');
    const answer = await act({ SecurityUser: ender, ContactID: id, branches: without('OnSuccess') });
    expect(answer).toEqual({ ...SUCCESS, branch: 'Default' });
    await ended(id);
  });

  it.each([
    ['OnInvalidSecurityUser', (id: string) => ({ SecurityUser: 'nope', ContactID: id }), 'InvalidSecurityUser'],
    ['OnUnauthorized', (id: string) => ({ SecurityUser: viewer, ContactID: id }), 'Unauthorized'],
    ['OnInvalidContactID', () => ({ SecurityUser: ender, ContactID: '8282828282' }), 'InvalidContactID'],
  ])('%s not defined → branch Default with that condition and the error', async (branch, body, code) => {
    const id = await client.startContact('bu-studio', 'Chat');
    for (const branches of [without(branch), [], ['OnSuccess']]) {
      const answer = await act({ ...body(id), branches });
      expect(answer).toMatchObject({ branch: 'Default', condition: branch, outputs: {}, error: { code } });
    }
    await expectStillActive(id);
  });
});

describe('script types', () => {
  // docs/design.md, End a Contact: the action may be called from any script type; a script of another media type must not be refused.
  it.each(MEDIA_TYPES)(
    'a %s contact is ended from a script of its own type, of another type, and from a Generic script',
    async (mediaType) => {
      const another = MEDIA_TYPES[(MEDIA_TYPES.indexOf(mediaType) + 1) % MEDIA_TYPES.length]!;
      for (const scriptType of [mediaType, another, 'Generic']) {
        const id = await client.startContact('bu-studio', mediaType);
        expect(await act({ SecurityUser: ender, ContactID: id, scriptType })).toEqual(SUCCESS);
        await ended(id);
      }
    },
  );
});
