/**
 * npm run demo — starts the service on a scratch DATA_DIR, seeds a business unit, profiles, agents and contacts,
 * and walks through the four outcomes of End a Contact (plus the Studio action), printing each request and answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../apps/orchestrator/src/bootstrap.js';

const dataDir = mkdtempSync(join(tmpdir(), 'contact-orchestrator-demo-'));
const { close, url, secrets } = await startService({ ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' });
const platform = secrets.platformToken;

/** SecurityUsers are long signed tokens: show their start only. */
const abridged = (_key: string, value: unknown): unknown =>
  typeof value === 'string' && value.startsWith('eyJ') && value.length > 40 ? `${value.slice(0, 16)}…` : value;

async function call(
  title: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {};
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  const shown = (t: string | undefined): string =>
    t === undefined ? '' : ` -H 'Authorization: Bearer ${t === platform ? '$PLATFORM_TOKEN' : `${t.slice(0, 16)}…`}'`;
  process.stdout.write(
    `\n# ${title}\n$ curl -X ${method} ${url}${path}${shown(token)}${body !== undefined ? ` -d '${JSON.stringify(body, abridged)}'` : ''}\n`,
  );
  process.stdout.write(`< ${response.status} ${JSON.stringify(answer, abridged)}\n`);
  return answer;
}

try {
  process.stdout.write(`contact-orchestrator demo on ${url} (DATA_DIR ${dataDir})\n`);
  await call('A security profile that may end and view contacts', 'PUT', '/v1/security-profiles/supervisor', platform, {
    name: 'Supervisor',
    permissions: ['Contacts.End', 'Contacts.View'],
  });
  await call('A profile that may only view', 'PUT', '/v1/security-profiles/observer', platform, {
    name: 'Observer',
    permissions: ['Contacts.View'],
  });
  await call('Agent Ada, supervisor in business unit acme', 'PUT', '/v1/agents/ada', platform, {
    businessUnitId: 'acme',
    securityProfileId: 'supervisor',
    active: true,
  });
  await call('Agent Bob, observer in business unit acme', 'PUT', '/v1/agents/bob', platform, {
    businessUnitId: 'acme',
    securityProfileId: 'observer',
    active: true,
  });
  const ada = (await call('SetSecurityUser for Ada', 'POST', '/v1/security-users', platform, { agentId: 'ada' }))[
    'securityUser'
  ] as string;
  const bob = (await call('SetSecurityUser for Bob', 'POST', '/v1/security-users', platform, { agentId: 'bob' }))[
    'securityUser'
  ] as string;
  const phone = (
    await call('A live phone contact', 'POST', '/v1/contacts', platform, {
      businessUnitId: 'acme',
      mediaType: 'Phone',
      skill: 'Support',
    })
  )['contactId'] as string;
  const chat = (
    await call('A live chat contact', 'POST', '/v1/contacts', platform, { businessUnitId: 'acme', mediaType: 'Chat' })
  )['contactId'] as string;

  await call(
    'OnInvalidSecurityUser: a forged SecurityUser (401)',
    'POST',
    `/v1/contacts/${phone}/end`,
    `${ada.slice(0, -4)}AAAA`,
  );
  await call('OnUnauthorized: Bob lacks Contacts.End (403)', 'POST', `/v1/contacts/${phone}/end`, bob);
  await call('OnInvalidContactID: malformed ID (400)', 'POST', '/v1/contacts/12ab/end', ada);
  await call('OnInvalidContactID: unknown contact (404)', 'POST', '/v1/contacts/4242424242/end', ada);
  await call('OnSuccess: Ada ends the phone contact (200)', 'POST', `/v1/contacts/${phone}/end`, ada);
  await call('OnInvalidContactID: already ended (409)', 'POST', `/v1/contacts/${phone}/end`, ada);
  await call(
    'The Studio action with {variables}: always 200, the branch the script takes',
    'POST',
    '/v1/actions/end-a-contact',
    undefined,
    {
      SecurityUser: '{SecurityUser}',
      ContactID: '{ContactID}',
      variables: { SecurityUser: ada, ContactID: chat },
      scriptType: 'Generic',
    },
  );
  await call('The live view of the phone contact', 'GET', `/v1/contacts/${phone}`, bob);
  await call('Its history, refusals included', 'GET', `/v1/contacts/${phone}/history`, platform);
} finally {
  await close();
  rmSync(dataDir, { recursive: true, force: true });
}
